mock_provider "google" {
  mock_data "google_project" {
    defaults = {
      number = "123456789012"
    }
  }
}

mock_provider "google-beta" {}

variables {
  project_id = "footfall-dev-test"
  image_tag  = "abc123"
}

run "services_use_the_config_contract" {
  command = plan

  assert {
    condition     = module.ingest.env_names == tolist(["KEYS_FILE", "MAX_EVENT_AGE", "MAX_FUTURE_SKEW", "PUBLISH_TIMEOUT", "PUBSUB_PROJECT", "PUBSUB_TOPIC", "RETRY_AFTER_SECONDS"])
    error_message = "ingest's environment must use the names in ingest/config.go."
  }

  assert {
    condition     = module.queryapi.env_names == tolist(["BIGTABLE_APP_PROFILE", "BIGTABLE_INSTANCE", "BIGTABLE_PROJECT", "KEYS_FILE", "MAX_POINTS"])
    error_message = "queryapi's environment must use the names in queryapi/config.go."
  }

  assert {
    condition     = module.ingest.env["PUBSUB_TOPIC"] == "events" && module.ingest.env["PUBSUB_PROJECT"] == "footfall-dev-test"
    error_message = "ingest publishes to the events topic of this project."
  }

  assert {
    condition     = module.queryapi.env["BIGTABLE_INSTANCE"] == "footfall" && module.queryapi.env["BIGTABLE_PROJECT"] == "footfall-dev-test"
    error_message = "queryapi reads the footfall instance of this project."
  }

  assert {
    condition = alltrue([
      for s in [module.ingest, module.queryapi] :
      s.env["KEYS_FILE"] == "/secrets/keys.json" && s.secret_files[0].path == "/secrets/keys.json" && s.secret_files[0].secret == "footfall-keys" && s.secret_files[0].version == "latest"
    ])
    error_message = "KEYS_FILE points at the key file mounted from footfall-keys."
  }

  assert {
    condition     = module.ingest.env["MAX_EVENT_AGE"] == module.dataflow.parameters["allowed-lateness"]
    error_message = "ingest accepts events exactly as old as the pipeline still applies."
  }
}

run "each_service_runs_as_its_own_account" {
  command = plan

  assert {
    condition     = module.ingest.service_account_email == module.iam.ingest_email
    error_message = "ingest runs as the ingest account."
  }

  assert {
    condition     = module.queryapi.service_account_email == module.iam.queryapi_email
    error_message = "queryapi runs as the queryapi account."
  }

  assert {
    condition     = module.ingest.service_account_email != module.queryapi.service_account_email
    error_message = "the services do not share an account."
  }

  assert {
    condition     = module.ingest.invokers == tolist(["allUsers"]) && length(module.queryapi.invokers) == 0
    error_message = "ingest is public (it checks write keys); queryapi is not by default."
  }
}

run "pipeline_reads_and_writes_the_right_resources" {
  command = plan

  assert {
    condition = (
      module.dataflow.parameters["subscription"] == "events-pipeline" &&
      module.dataflow.parameters["bigtable-instance"] == "footfall" &&
      module.dataflow.parameters["pubsub-project"] == "footfall-dev-test" &&
      module.dataflow.parameters["bigtable-project"] == "footfall-dev-test"
    )
    error_message = "the streaming job reads events-pipeline and writes the footfall instance."
  }

  assert {
    condition     = module.dataflow.streaming_template_path == "gs://footfall-dev-test-footfall-dataflow/templates/streaming-abc123.json"
    error_message = "the streaming template follows image_tag."
  }

  assert {
    condition     = module.scheduler.launch_request.launchParameter.containerSpecGcsPath == "gs://footfall-dev-test-footfall-dataflow/templates/backfill-abc123.json"
    error_message = "the seal launches the backfill template of the same tag."
  }

  assert {
    condition     = module.scheduler.launch_request.launchParameter.environment.serviceAccountEmail == module.iam.dataflow_worker_email
    error_message = "the seal job runs as the worker account."
  }
}

run "dev_is_small_and_disposable" {
  command = plan

  assert {
    condition     = length(module.bigtable.cluster_ids) == 1 && module.bigtable.routing == "single-cluster"
    error_message = "dev has one Bigtable cluster with single-cluster routing."
  }

  assert {
    condition     = module.ingest.scaling.min_instances == 0 && module.queryapi.scaling.min_instances == 0
    error_message = "dev services scale to zero."
  }

  assert {
    condition     = module.bigtable.deletion_protection == false && module.bigquery.deletion_protection == false
    error_message = "dev can be torn down."
  }

  assert {
    condition     = length(module.monitoring.policy_ids) == 5
    error_message = "all alert policies exist in dev too."
  }
}

run "first_apply_without_the_streaming_job" {
  command = plan

  variables {
    launch_streaming_job = false
  }

  assert {
    condition     = module.dataflow.job_id == null
    error_message = "no streaming job until its template is built."
  }

  assert {
    condition     = module.scheduler.paused == true
    error_message = "no seal without a streaming job."
  }
}

run "seal_waits_for_its_template" {
  command = plan

  variables {
    seal_schedule_enabled = false
  }

  assert {
    condition     = module.scheduler.paused == true
    error_message = "the hourly seal is paused until the backfill template exists."
  }
}
