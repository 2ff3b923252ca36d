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

run "one_account_per_component" {
  command = plan

  assert {
    condition     = toset(keys(google_service_account.this)) == toset(["ingest", "queryapi", "dataflow", "scheduler"])
    error_message = "ingest, queryapi, dataflow and scheduler each get an account."
  }

  assert {
    condition     = length(distinct([output.ingest_email, output.queryapi_email, output.dataflow_worker_email, output.scheduler_email])) == 4
    error_message = "no two components share an account."
  }

  assert {
    condition     = output.ingest_email == "footfall-ingest@footfall-test.iam.gserviceaccount.com"
    error_message = "account emails are <prefix>-<component>@<project>.iam.gserviceaccount.com."
  }
}

run "ingest_may_only_publish_to_the_topic" {
  command = plan

  assert {
    condition     = google_pubsub_topic_iam_member.ingest_publishes.topic == "projects/footfall-test/topics/events" && google_pubsub_topic_iam_member.ingest_publishes.role == "roles/pubsub.publisher"
    error_message = "ingest gets roles/pubsub.publisher on the events topic."
  }
}

run "queryapi_may_only_read_bigtable" {
  command = plan

  assert {
    condition     = google_bigtable_instance_iam_member.queryapi_reads.role == "roles/bigtable.reader" && google_bigtable_instance_iam_member.queryapi_reads.instance == "footfall"
    error_message = "queryapi gets roles/bigtable.reader on the instance."
  }
}

run "dataflow_worker_roles_are_on_resources" {
  command = plan

  assert {
    condition     = toset(keys(google_project_iam_member.dataflow)) == toset(["roles/dataflow.worker", "roles/bigquery.readSessionUser"])
    error_message = "the worker's only project roles are dataflow.worker and bigquery.readSessionUser."
  }

  assert {
    condition = alltrue([
      for m in google_pubsub_subscription_iam_member.dataflow : m.subscription == "projects/footfall-test/subscriptions/events-pipeline"
    ]) && toset(keys(google_pubsub_subscription_iam_member.dataflow)) == toset(["roles/pubsub.subscriber", "roles/pubsub.viewer"])
    error_message = "the worker subscribes to (and may view) the pipeline subscription only."
  }

  assert {
    condition     = google_bigtable_instance_iam_member.dataflow_writes.role == "roles/bigtable.user"
    error_message = "the worker gets roles/bigtable.user on the instance."
  }

  assert {
    condition     = google_bigquery_dataset_iam_member.dataflow_archive.role == "roles/bigquery.dataEditor" && google_bigquery_dataset_iam_member.dataflow_archive.dataset_id == "footfall"
    error_message = "the worker edits data in the archive dataset only."
  }

  assert {
    condition     = alltrue([for m in google_storage_bucket_iam_member.dataflow : m.bucket == "footfall-test-footfall-dataflow"])
    error_message = "the worker's storage roles are on the staging bucket."
  }
}

run "scheduler_launches_as_the_worker" {
  command = plan

  assert {
    condition     = google_project_iam_member.scheduler_launches.role == "roles/dataflow.developer"
    error_message = "the scheduler may launch Dataflow jobs."
  }

  assert {
    condition     = google_service_account_iam_member.scheduler_acts_as_worker.role == "roles/iam.serviceAccountUser"
    error_message = "the scheduler may act as the worker account (only)."
  }
}

run "extra_worker_roles" {
  command = plan

  variables {
    dataflow_worker_extra_project_roles = ["roles/bigquery.jobUser"]
  }

  assert {
    condition     = contains(keys(google_project_iam_member.dataflow), "roles/bigquery.jobUser")
    error_message = "extra project roles are granted."
  }
}

run "prefix_is_short_enough" {
  command = plan

  variables {
    name_prefix = "footfall-production-eu"
  }

  expect_failures = [var.name_prefix]
}
