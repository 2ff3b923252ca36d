# One service account per component, each granted only what it uses, on the
# resource itself wherever IAM allows it; project-level grants are only for
# roles that exist nowhere else (Dataflow, BigQuery read sessions).
#
#   ingest     roles/pubsub.publisher on the events topic
#   queryapi   roles/bigtable.reader on the instance
#   dataflow   roles/dataflow.worker (project), roles/bigquery.readSessionUser
#              (project: Storage Read API sessions for the backfill),
#              roles/pubsub.subscriber + roles/pubsub.viewer on the subscription,
#              roles/bigtable.user on the instance,
#              roles/bigquery.dataEditor on the archive dataset,
#              roles/storage.objectAdmin + legacyBucketReader on the staging bucket,
#              roles/artifactregistry.reader on the image repository
#   scheduler  roles/dataflow.developer (project), roles/iam.serviceAccountUser
#              on the worker account (to launch jobs that run as it),
#              roles/storage.objectViewer on the bucket (template specs)
#
# Reading the key file (roles/secretmanager.secretAccessor on footfall-keys)
# is granted by modules/secrets, which owns the secret.

locals {
  accounts = {
    ingest    = "footfall ingest (Cloud Run): publishes events"
    queryapi  = "footfall query API (Cloud Run): reads metrics"
    dataflow  = "footfall pipelines (Dataflow workers and launcher)"
    scheduler = "footfall scheduler: launches the hourly seal job"
  }

  # Known at plan time (unlike the resource's email attribute), so modules
  # and tests can use them before apply; outputs still wait for the accounts.
  emails = { for k, _ in local.accounts : k => "${var.name_prefix}-${k}@${var.project_id}.iam.gserviceaccount.com" }

  worker_project_roles = distinct(concat(
    ["roles/dataflow.worker", "roles/bigquery.readSessionUser"],
    var.dataflow_worker_extra_project_roles,
  ))
}

resource "google_service_account" "this" {
  for_each = local.accounts

  project      = var.project_id
  account_id   = "${var.name_prefix}-${each.key}"
  display_name = each.value
}

# --- ingest -----------------------------------------------------------------

resource "google_pubsub_topic_iam_member" "ingest_publishes" {
  project = var.project_id
  topic   = var.topic_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.this["ingest"].email}"
}

# --- queryapi ---------------------------------------------------------------

resource "google_bigtable_instance_iam_member" "queryapi_reads" {
  project  = var.project_id
  instance = var.bigtable_instance_name
  role     = "roles/bigtable.reader"
  member   = "serviceAccount:${google_service_account.this["queryapi"].email}"
}

# --- dataflow workers ---------------------------------------------------------

resource "google_project_iam_member" "dataflow" {
  for_each = toset(local.worker_project_roles)

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.this["dataflow"].email}"
}

resource "google_pubsub_subscription_iam_member" "dataflow" {
  for_each = toset(["roles/pubsub.subscriber", "roles/pubsub.viewer"])

  project      = var.project_id
  subscription = var.subscription_id
  role         = each.value
  member       = "serviceAccount:${google_service_account.this["dataflow"].email}"
}

resource "google_bigtable_instance_iam_member" "dataflow_writes" {
  project  = var.project_id
  instance = var.bigtable_instance_name
  role     = "roles/bigtable.user"
  member   = "serviceAccount:${google_service_account.this["dataflow"].email}"
}

resource "google_bigquery_dataset_iam_member" "dataflow_archive" {
  project    = var.project_id
  dataset_id = var.bigquery_dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${google_service_account.this["dataflow"].email}"
}

resource "google_storage_bucket_iam_member" "dataflow" {
  for_each = toset(["roles/storage.objectAdmin", "roles/storage.legacyBucketReader"])

  bucket = var.staging_bucket_name
  role   = each.value
  member = "serviceAccount:${google_service_account.this["dataflow"].email}"
}

resource "google_artifact_registry_repository_iam_member" "dataflow_pulls" {
  project    = var.project_id
  location   = var.artifact_registry_location
  repository = var.artifact_registry_repository
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:${google_service_account.this["dataflow"].email}"
}

# --- scheduler ----------------------------------------------------------------

resource "google_project_iam_member" "scheduler_launches" {
  project = var.project_id
  role    = "roles/dataflow.developer"
  member  = "serviceAccount:${google_service_account.this["scheduler"].email}"
}

resource "google_service_account_iam_member" "scheduler_acts_as_worker" {
  service_account_id = google_service_account.this["dataflow"].name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.this["scheduler"].email}"
}

resource "google_storage_bucket_iam_member" "scheduler_reads_templates" {
  bucket = var.staging_bucket_name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.this["scheduler"].email}"
}
