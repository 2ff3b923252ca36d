mock_provider "google" {}
mock_provider "google-beta" {}

variables {
  project_id            = "footfall-test"
  region                = "us-central1"
  service_account_email = "footfall-dataflow@footfall-test.iam.gserviceaccount.com"
  subscription          = "events-pipeline"
  bigtable_instance     = "footfall"
  archive_table         = "footfall-test:footfall.events"
}

run "streaming_job_runs_on_streaming_engine_as_its_worker" {
  command = plan

  assert {
    condition     = length(google_dataflow_flex_template_job.streaming) == 1
    error_message = "the streaming job is launched."
  }

  assert {
    condition     = google_dataflow_flex_template_job.streaming[0].enable_streaming_engine == true
    error_message = "Streaming Engine must be on."
  }

  assert {
    condition     = google_dataflow_flex_template_job.streaming[0].service_account_email == "footfall-dataflow@footfall-test.iam.gserviceaccount.com"
    error_message = "workers run as the dedicated worker service account."
  }

  assert {
    condition     = google_dataflow_flex_template_job.streaming[0].max_workers == 5 && google_dataflow_flex_template_job.streaming[0].region == "us-central1"
    error_message = "max workers and region come from the variables."
  }

  assert {
    condition     = google_dataflow_flex_template_job.streaming[0].container_spec_gcs_path == "gs://footfall-test-footfall-dataflow/templates/streaming.json"
    error_message = "the template spec defaults to the bucket's templates/streaming.json."
  }

  assert {
    condition     = google_dataflow_flex_template_job.streaming[0].on_delete == "drain"
    error_message = "the job is drained, not cancelled, when removed."
  }
}

run "parameters_are_the_streaming_flags" {
  command = plan

  assert {
    condition = google_dataflow_flex_template_job.streaming[0].parameters == tomap({
      "pubsub_project"    = "footfall-test"
      "subscription"      = "events-pipeline"
      "bigtable_project"  = "footfall-test"
      "bigtable_instance" = "footfall"
      "early_firing"      = "60s"
      "horizon"           = "3h"
      "archive_table"     = "footfall-test:footfall.events"
      "max_names"         = "500"
      "top_k"             = "100"
    })
    error_message = "parameters must be exactly pipelines/cmd/streaming's flags."
  }
}

run "extra_parameters_are_added" {
  command = plan

  variables {
    extra_parameters = { "reader_shards" = "4" }
  }

  assert {
    condition     = google_dataflow_flex_template_job.streaming[0].parameters["reader_shards"] == "4" && length(google_dataflow_flex_template_job.streaming[0].parameters) == 10
    error_message = "extra parameters are merged into the flags."
  }
}

run "app_profile_is_passed_when_set" {
  command = plan

  variables {
    bigtable_app_profile = "footfall"
  }

  assert {
    condition     = google_dataflow_flex_template_job.streaming[0].parameters["bigtable_app_profile"] == "footfall"
    error_message = "the app profile reaches the job as --bigtable-app-profile."
  }
}

run "archive_table_must_name_a_table" {
  command = plan

  variables {
    archive_table = "footfall.events"
  }

  expect_failures = [var.archive_table]
}

run "bucket_is_private_and_expires_temp" {
  command = plan

  assert {
    condition     = google_storage_bucket.dataflow.uniform_bucket_level_access == true && google_storage_bucket.dataflow.public_access_prevention == "enforced"
    error_message = "the bucket uses uniform access and is never public."
  }

  assert {
    condition     = one(google_storage_bucket.dataflow.lifecycle_rule[0].condition).matches_prefix == tolist(["temp/"])
    error_message = "only temp/ expires (staging/ holds running jobs' binaries)."
  }

  assert {
    condition     = one(google_storage_bucket.dataflow.lifecycle_rule[0].action).type == "Delete" && one(google_storage_bucket.dataflow.lifecycle_rule[0].condition).age == 7
    error_message = "temp/ objects are deleted after temp_retention_days."
  }

  assert {
    condition     = google_dataflow_flex_template_job.streaming[0].temp_location == "gs://footfall-test-footfall-dataflow/temp"
    error_message = "the job stages through the bucket."
  }
}

run "job_can_wait_for_its_template" {
  command = plan

  variables {
    launch_streaming_job = false
  }

  assert {
    condition     = length(google_dataflow_flex_template_job.streaming) == 0 && output.job_id == null
    error_message = "no job until the template is built."
  }
}
