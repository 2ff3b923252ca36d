mock_provider "google" {}

mock_provider "google-beta" {}

variables {
  project_id = "footfall-prod-test"
  image_tag  = "abc123"
}

run "bigtable_is_replicated_with_failover_for_readers" {
  command = plan

  assert {
    condition     = length(module.bigtable.cluster_ids) == 2 && module.bigtable.deletion_protection == true
    error_message = "prod has two protected Bigtable clusters."
  }

  assert {
    condition = (
      module.bigtable.profile_routing["queryapi"].routing == "multi-cluster" &&
      module.bigtable.profile_routing["streaming"].routing == "single-cluster" &&
      module.bigtable.profile_routing["sealer"].routing == "single-cluster" &&
      module.bigtable.profile_routing["sealer"].transactional == true &&
      module.bigtable.profile_routing["streaming"].transactional == false
    )
    error_message = "readers fail over between clusters; the writers stay on one; only the sealer may use transactions."
  }
}

run "writers_move_to_the_other_cluster_by_variable" {
  command = plan

  variables {
    bigtable_writer_cluster = "footfall-c2"
  }

  assert {
    condition     = module.bigtable.profile_routing["streaming"].cluster == "footfall-c2" && module.bigtable.profile_routing["sealer"].cluster == "footfall-c2"
    error_message = "bigtable_writer_cluster moves both writers."
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
    condition     = module.ingest.service_account_email != module.queryapi.service_account_email
    error_message = "each service runs as its own account."
  }
}

run "alerts_are_tight" {
  command = plan

  assert {
    condition     = length(module.monitoring.policy_ids) == 6
    error_message = "every alert policy exists (including dead letters and failed seal passes)."
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
    condition     = module.dataflow.parameters["bigtable_app_profile"] == "streaming" && module.sealer.flags["bigtable-app-profile"] == "sealer"
    error_message = "each pipeline writes through its own profile."
  }

  assert {
    condition     = module.sealer.flags["max-names"] == module.dataflow.parameters["max_names"] && module.sealer.flags["top-k"] == module.dataflow.parameters["top_k"]
    error_message = "sealed and provisional values are bounded alike."
  }

  assert {
    condition     = module.dataflow.streaming_template_path == "gs://footfall-prod-test-footfall-dataflow/templates/streaming-abc123.json"
    error_message = "the streaming template follows image_tag."
  }
}
