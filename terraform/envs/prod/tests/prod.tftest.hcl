mock_provider "google" {
  mock_data "google_project" {
    defaults = {
      number = "123456789012"
    }
  }
}

mock_provider "google-beta" {}

variables {
  project_id = "footfall-prod-test"
  image_tag  = "abc123"
}

run "bigtable_is_replicated_with_failover" {
  command = plan

  assert {
    condition     = length(module.bigtable.cluster_ids) == 2
    error_message = "prod has two Bigtable clusters."
  }

  assert {
    condition     = module.bigtable.routing == "multi-cluster"
    error_message = "prod's app profile routes to any healthy cluster."
  }

  assert {
    condition     = module.bigtable.deletion_protection == true
    error_message = "prod's Bigtable instance and tables are protected."
  }
}

run "nothing_is_destroyable_by_accident" {
  command = plan

  assert {
    condition     = module.bigquery.deletion_protection == true && module.bigquery.partition_expiration_days == null
    error_message = "the archive is protected and kept forever."
  }

  assert {
    condition     = module.ingest.deletion_protection == true && module.queryapi.deletion_protection == true
    error_message = "the services are protected."
  }
}

run "services_stay_warm_and_separate" {
  command = plan

  assert {
    condition     = module.ingest.scaling.min_instances > 0 && module.queryapi.scaling.min_instances > 0
    error_message = "prod services keep warm instances (no cold starts on the ingest path)."
  }

  assert {
    condition     = module.ingest.scaling.max_instances >= 100
    error_message = "ingest can scale for 200k events/s peaks."
  }

  assert {
    condition = (
      module.ingest.service_account_email == module.iam.ingest_email &&
      module.queryapi.service_account_email == module.iam.queryapi_email &&
      module.ingest.service_account_email != module.queryapi.service_account_email
    )
    error_message = "each service runs as its own account."
  }

  assert {
    condition     = module.ingest.env_names == tolist(["KEYS_FILE", "MAX_EVENT_AGE", "MAX_FUTURE_SKEW", "PUBLISH_TIMEOUT", "PUBSUB_PROJECT", "PUBSUB_TOPIC", "RETRY_AFTER_SECONDS"])
    error_message = "ingest's environment must use the names in ingest/config.go."
  }

  assert {
    condition     = module.queryapi.env_names == tolist(["BIGTABLE_APP_PROFILE", "BIGTABLE_INSTANCE", "BIGTABLE_PROJECT", "KEYS_FILE", "MAX_POINTS"])
    error_message = "queryapi's environment must use the names in queryapi/config.go."
  }
}

run "alerts_are_tight" {
  command = plan

  assert {
    condition     = length(module.monitoring.policy_ids) == 5
    error_message = "every alert policy exists."
  }

  assert {
    condition = (
      module.monitoring.thresholds.pubsub_oldest_unacked_seconds <= 300 &&
      module.monitoring.thresholds.dataflow_data_freshness_seconds <= 300 &&
      module.monitoring.thresholds.ingest_5xx_ratio <= 0.01 &&
      module.monitoring.thresholds.queryapi_p99_latency_ms <= 500
    )
    error_message = "prod alerts fire well inside the one-hour freshness bound and on 1% errors."
  }
}

run "pipeline_wiring" {
  command = plan

  assert {
    condition     = module.dataflow.parameters["subscription"] == "events-pipeline" && module.dataflow.parameters["bigtable-instance"] == "footfall"
    error_message = "the streaming job reads events-pipeline and writes the footfall instance."
  }

  assert {
    condition     = module.dataflow.streaming_template_path == "gs://footfall-prod-test-footfall-dataflow/templates/streaming-abc123.json"
    error_message = "the streaming template follows image_tag."
  }
}
