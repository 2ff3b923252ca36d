mock_provider "google" {}

variables {
  project_id                   = "footfall-test"
  topic_id                     = "projects/footfall-test/topics/events"
  subscription_id              = "projects/footfall-test/subscriptions/events-pipeline"
  bigtable_instance_name       = "footfall"
  bigquery_dataset_id          = "footfall"
  staging_bucket_name          = "footfall-test-footfall-dataflow"
  artifact_registry_location   = "us-central1"
  artifact_registry_repository = "footfall"
}

# Which roles each account gets is checked against the Go code by
# terraform/contract (TestIAMGrantsMatchTheCode); these runs check that the
# grants land on the right resources.

run "one_account_per_component" {
  command = plan

  assert {
    condition     = toset(keys(google_service_account.this)) == toset(["ingest", "queryapi", "dataflow", "sealer", "scheduler", "build"])
    error_message = "every component gets an account."
  }

  assert {
    condition     = output.ingest_email == "footfall-ingest@footfall-test.iam.gserviceaccount.com"
    error_message = "account emails are <prefix>-<component>@<project>.iam.gserviceaccount.com."
  }
}

run "grants_land_on_their_resources" {
  command = plan

  assert {
    condition     = google_pubsub_topic_iam_member.this["ingest/roles/pubsub.publisher"].topic == "projects/footfall-test/topics/events"
    error_message = "ingest publishes to the events topic."
  }

  assert {
    condition     = google_pubsub_subscription_iam_member.this["dataflow/roles/pubsub.subscriber"].subscription == "projects/footfall-test/subscriptions/events-pipeline"
    error_message = "the workers read the pipeline subscription."
  }

  assert {
    condition     = google_bigquery_dataset_iam_member.this["sealer/roles/bigquery.dataViewer"].dataset_id == "footfall"
    error_message = "the sealer reads the archive dataset."
  }

  assert {
    condition     = google_service_account_iam_member.worker_account["sealer/roles/iam.serviceAccountUser"].role == "roles/iam.serviceAccountUser"
    error_message = "the sealer may submit jobs that run as the worker account."
  }

  assert {
    condition     = google_storage_bucket_iam_member.this["build/roles/storage.objectAdmin"].bucket == "footfall-test-footfall-dataflow"
    error_message = "Cloud Build writes the template specs to the Dataflow bucket."
  }
}

run "prefix_is_short_enough" {
  command = plan

  variables {
    name_prefix = "a-much-too-long-prefix"
  }

  expect_failures = [var.name_prefix]
}
