# Each email output waits for the account and its grants, so whatever runs
# as the account (a Cloud Run revision, a Dataflow job) starts only once it
# has its permissions.

output "ingest_email" {
  description = "Ingest's service account."
  value       = local.emails["ingest"]
  depends_on  = [google_service_account.this, google_pubsub_topic_iam_member.ingest_publishes]
}

output "queryapi_email" {
  description = "The query API's service account."
  value       = local.emails["queryapi"]
  depends_on  = [google_service_account.this, google_bigtable_instance_iam_member.queryapi_reads]
}

output "dataflow_worker_email" {
  description = "The Dataflow worker (and flex-template launcher) service account."
  value       = local.emails["dataflow"]
  depends_on = [
    google_service_account.this,
    google_project_iam_member.dataflow,
    google_pubsub_subscription_iam_member.dataflow,
    google_bigtable_instance_iam_member.dataflow_writes,
    google_bigquery_dataset_iam_member.dataflow_archive,
    google_storage_bucket_iam_member.dataflow,
    google_artifact_registry_repository_iam_member.dataflow_pulls,
  ]
}

output "scheduler_email" {
  description = "The scheduler's service account (OAuth identity of the seal job's launch call)."
  value       = local.emails["scheduler"]
  depends_on = [
    google_service_account.this,
    google_project_iam_member.scheduler_launches,
    google_service_account_iam_member.scheduler_acts_as_worker,
    google_storage_bucket_iam_member.scheduler_reads_templates,
  ]
}

output "members" {
  description = "IAM member string (serviceAccount:EMAIL) of each account, by component."
  value       = { for k, e in local.emails : k => "serviceAccount:${e}" }
  depends_on  = [google_service_account.this]
}

output "worker_project_roles" {
  description = "Project-level roles of the worker account."
  value       = local.worker_project_roles
}
