# Each email output waits for the accounts and every grant, so whatever runs
# as an account (a Cloud Run revision, a Dataflow job) starts only once it
# has its permissions.

output "ingest_email" {
  description = "Ingest's service account."
  value       = local.emails["ingest"]
  depends_on  = [google_service_account.this, google_pubsub_topic_iam_member.this, google_bigtable_instance_iam_member.this]
}

output "queryapi_email" {
  description = "The query API's service account."
  value       = local.emails["queryapi"]
  depends_on  = [google_service_account.this, google_bigtable_instance_iam_member.this]
}

output "dataflow_worker_email" {
  description = "The Dataflow worker (and flex-template launcher) service account."
  value       = local.emails["dataflow"]
  depends_on = [
    google_service_account.this,
    google_project_iam_member.this,
    google_pubsub_topic_iam_member.this,
    google_pubsub_subscription_iam_member.this,
    google_bigtable_instance_iam_member.this,
    google_bigquery_dataset_iam_member.this,
    google_storage_bucket_iam_member.this,
    google_artifact_registry_repository_iam_member.this,
    google_service_account_iam_member.worker_account,
  ]
}

output "sealer_email" {
  description = "The sealer's service account (the Cloud Run job that submits seal and backfill jobs)."
  value       = local.emails["sealer"]
  depends_on = [
    google_service_account.this,
    google_project_iam_member.this,
    google_pubsub_topic_iam_member.this,
    google_pubsub_subscription_iam_member.this,
    google_bigtable_instance_iam_member.this,
    google_bigquery_dataset_iam_member.this,
    google_storage_bucket_iam_member.this,
    google_artifact_registry_repository_iam_member.this,
    google_service_account_iam_member.worker_account,
  ]
}

output "scheduler_email" {
  description = "Cloud Scheduler's service account (OAuth identity of the call that runs the sealer job)."
  value       = local.emails["scheduler"]
  depends_on  = [google_service_account.this]
}

output "build_email" {
  description = "Cloud Build's service account: gcloud builds submit --service-account=projects/PROJECT/serviceAccounts/<this>."
  value       = local.emails["build"]
  depends_on = [
    google_service_account.this,
    google_project_iam_member.this,
    google_pubsub_topic_iam_member.this,
    google_pubsub_subscription_iam_member.this,
    google_bigtable_instance_iam_member.this,
    google_bigquery_dataset_iam_member.this,
    google_storage_bucket_iam_member.this,
    google_artifact_registry_repository_iam_member.this,
    google_service_account_iam_member.worker_account,
  ]
}

output "members" {
  description = "IAM member string (serviceAccount:EMAIL) of each account, by component."
  value       = { for k, e in local.emails : k => "serviceAccount:${e}" }
  depends_on  = [google_service_account.this]
}

output "grants" {
  description = "Roles by kind of resource and account."
  value       = local.grants
}
