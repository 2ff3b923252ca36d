mock_provider "google" {}

mock_provider "google-beta" {}

variables {
  project_id = "footfall-dev-test"
  image_tag  = "abc123"
}

# Environment variable names are checked against ingest.Config and
# queryapi.Config by terraform/contract (TestCloudRunEnvMatchesConfig), and
# the app profiles against the Go code (TestAppProfilesAllowWhatTheCodeDoes);
# these runs check how the modules are wired together.

run "services_use_this_environments_resources" {
  command = plan

  assert {
    condition     = module.ingest.env["PUBSUB_TOPIC"] == "events" && module.ingest.env["PUBSUB_PROJECT"] == "footfall-dev-test"
    error_message = "ingest publishes to the events topic of this project."
  }

  assert {
    condition     = module.queryapi.env["BIGTABLE_INSTANCE"] == module.bigtable.instance_name && module.queryapi.env["BIGTABLE_APP_PROFILE"] == "queryapi"
    error_message = "the query API reads this instance through the readers' profile."
  }

  assert {
    condition = alltrue([
      for s in [module.ingest, module.queryapi] :
      s.env["KEYS_BIGTABLE_INSTANCE"] == module.bigtable.instance_name && s.env["KEYS_BIGTABLE_APP_PROFILE"] == "queryapi"
    ])
    error_message = "both services look merchant keys up in the Bigtable key store."
  }

  assert {
    condition     = module.dataflow.parameters["horizon"] == "3h"
    error_message = "the streaming job holds state for a 3-hour horizon; the sealer owns older events."
  }
}

run "each_component_runs_as_its_own_account" {
  command = plan

  assert {
    condition = (
      module.ingest.service_account_email == module.iam.ingest_email &&
      module.queryapi.service_account_email == module.iam.queryapi_email &&
      module.sealer.service_account_email == module.iam.sealer_email &&
      length(distinct([module.iam.ingest_email, module.iam.queryapi_email, module.iam.sealer_email, module.iam.dataflow_worker_email])) == 4
    )
    error_message = "ingest, the query API, the sealer and the workers each run as their own account."
  }

  assert {
    condition     = module.ingest.invokers == tolist(["allUsers"]) && length(module.queryapi.invokers) == 0
    error_message = "ingest is public (it checks write keys); queryapi is not by default."
  }
}

run "pipelines_write_through_their_profiles" {
  command = plan

  assert {
    condition = (
      module.dataflow.parameters["subscription"] == "events-pipeline" &&
      module.dataflow.parameters["bigtable_instance"] == module.bigtable.instance_name &&
      module.dataflow.parameters["bigtable_app_profile"] == "streaming"
    )
    error_message = "the streaming job reads events-pipeline and writes through the streaming profile."
  }

  assert {
    condition     = module.sealer.flags["bigtable-app-profile"] == "sealer" && module.sealer.flags["source"] == "bq:${module.bigquery.table_spec}"
    error_message = "the sealer reads the BigQuery archive and writes through the transactional profile."
  }

  assert {
    condition     = module.sealer.flags["max-names"] == module.dataflow.parameters["max_names"] && module.sealer.flags["top-k"] == module.dataflow.parameters["top_k"]
    error_message = "sealed and provisional values are bounded alike."
  }

  assert {
    condition     = module.dataflow.streaming_template_path == "gs://footfall-dev-test-footfall-dataflow/templates/streaming-abc123.json"
    error_message = "the streaming template follows image_tag."
  }
}

run "workers_have_no_public_ips" {
  command = plan

  assert {
    condition     = module.sealer.flags["no_use_public_ips"] == "true" && module.sealer.flags["subnetwork"] == module.network.dataflow_subnetwork
    error_message = "the sealer's jobs run on the private subnetwork."
  }

  assert {
    condition     = module.network.private_google_access == true
    error_message = "workers without public IPs reach Google APIs through Private Google Access."
  }
}

run "dev_is_small_and_disposable" {
  command = plan

  assert {
    condition     = length(module.bigtable.cluster_ids) == 1 && module.bigtable.routing == "single-cluster"
    error_message = "dev has one Bigtable cluster."
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
    condition     = length(module.monitoring.policy_ids) == 6
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
    condition     = module.sealer.paused == true
    error_message = "no seal passes without a streaming job."
  }
}

run "seal_waits_for_its_image" {
  command = plan

  variables {
    seal_schedule_enabled = false
  }

  assert {
    condition     = module.sealer.paused == true
    error_message = "the hourly seal is paused until the sealer image exists."
  }
}
