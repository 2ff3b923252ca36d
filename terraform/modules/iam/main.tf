# One service account per component, each granted only what its code calls,
# on the resource itself wherever IAM allows it; project-level grants only
# for roles that exist nowhere else (Dataflow, BigQuery jobs and read
# sessions, logging).
#
# The grants are data (locals below) so that terraform/contract
# (TestIAMGrantsMatchTheCode) can read them and tie each role to the calls
# the Go code reachable from the component's binary makes: a role no call
# needs, or a call no role allows, fails that test.
#
#   ingest     publishes events; looks merchant keys up in Bigtable
#   queryapi   reads metrics (and merchant keys) from Bigtable
#   dataflow   Dataflow workers and the streaming job's template launcher
#   sealer     the Cloud Run job that submits the seal/backfill Dataflow jobs,
#              waits for them and writes seal records (modules/sealer)
#   scheduler  Cloud Scheduler's identity to run the sealer job (its
#              roles/run.invoker is granted on the job, in modules/sealer)
#   build      Cloud Build: pushes images, writes flex-template specs

locals {
  accounts = {
    ingest    = "footfall ingest (Cloud Run): publishes events"
    queryapi  = "footfall query API (Cloud Run): reads metrics"
    dataflow  = "footfall pipelines (Dataflow workers and launcher)"
    sealer    = "footfall sealer (Cloud Run job): runs and records seal and backfill jobs"
    scheduler = "footfall scheduler: starts the hourly seal pass"
    build     = "footfall Cloud Build: images and flex-template specs"
  }

  # Known at plan time (unlike the resource's email attribute), so modules
  # and tests can use them before apply; outputs still wait for the accounts.
  emails = { for k, _ in local.accounts : k => "${var.name_prefix}-${k}@${var.project_id}.iam.gserviceaccount.com" }

  # Roles by account, per kind of resource they are granted on.
  grants = {
    project = {
      dataflow = ["roles/dataflow.worker", "roles/bigquery.readSessionUser"]
      sealer   = ["roles/dataflow.developer", "roles/bigquery.jobUser"]
      build    = ["roles/logging.logWriter"]
    }
    topic = {
      ingest = ["roles/pubsub.publisher"]
    }
    subscription = {
      dataflow = ["roles/pubsub.subscriber", "roles/pubsub.viewer"]
    }
    bigtable_instance = {
      ingest   = ["roles/bigtable.reader"]
      queryapi = ["roles/bigtable.reader"]
      dataflow = ["roles/bigtable.user"]
      sealer   = ["roles/bigtable.user"]
    }
    dataset = {
      dataflow = ["roles/bigquery.dataEditor"]
      sealer   = ["roles/bigquery.dataViewer"]
    }
    bucket = {
      dataflow = ["roles/storage.objectAdmin", "roles/storage.legacyBucketReader"]
      sealer   = ["roles/storage.objectAdmin", "roles/storage.legacyBucketReader"]
      build    = ["roles/storage.objectAdmin"]
    }
    repository = {
      dataflow = ["roles/artifactregistry.reader"]
      build    = ["roles/artifactregistry.writer"]
    }
    # On the dataflow account: who may start jobs that run as it.
    worker_account = {
      sealer = ["roles/iam.serviceAccountUser"]
    }
  }

  # "kind/account/role" => { account, role }
  flat = { for kind, by in local.grants : kind => merge([
    for account, roles in by : { for role in roles : "${account}/${role}" => { account = account, role = role } }
  ]...) }
}

resource "google_service_account" "this" {
  for_each = local.accounts

  project      = var.project_id
  account_id   = "${var.name_prefix}-${each.key}"
  display_name = each.value
}

resource "google_project_iam_member" "this" {
  for_each = local.flat.project

  project = var.project_id
  role    = each.value.role
  member  = "serviceAccount:${google_service_account.this[each.value.account].email}"
}

resource "google_pubsub_topic_iam_member" "this" {
  for_each = local.flat.topic

  project = var.project_id
  topic   = var.topic_id
  role    = each.value.role
  member  = "serviceAccount:${google_service_account.this[each.value.account].email}"
}

resource "google_pubsub_subscription_iam_member" "this" {
  for_each = local.flat.subscription

  project      = var.project_id
  subscription = var.subscription_id
  role         = each.value.role
  member       = "serviceAccount:${google_service_account.this[each.value.account].email}"
}

resource "google_bigtable_instance_iam_member" "this" {
  for_each = local.flat.bigtable_instance

  project  = var.project_id
  instance = var.bigtable_instance_name
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.this[each.value.account].email}"
}

resource "google_bigquery_dataset_iam_member" "this" {
  for_each = local.flat.dataset

  project    = var.project_id
  dataset_id = var.bigquery_dataset_id
  role       = each.value.role
  member     = "serviceAccount:${google_service_account.this[each.value.account].email}"
}

resource "google_storage_bucket_iam_member" "this" {
  for_each = local.flat.bucket

  bucket = var.staging_bucket_name
  role   = each.value.role
  member = "serviceAccount:${google_service_account.this[each.value.account].email}"
}

resource "google_artifact_registry_repository_iam_member" "this" {
  for_each = local.flat.repository

  project    = var.project_id
  location   = var.artifact_registry_location
  repository = var.artifact_registry_repository
  role       = each.value.role
  member     = "serviceAccount:${google_service_account.this[each.value.account].email}"
}

resource "google_service_account_iam_member" "worker_account" {
  for_each = local.flat.worker_account

  service_account_id = google_service_account.this["dataflow"].name
  role               = each.value.role
  member             = "serviceAccount:${google_service_account.this[each.value.account].email}"
}
