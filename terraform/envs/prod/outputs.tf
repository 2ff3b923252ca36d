output "ingest_url" {
  description = "Ingest base URL (Segment-compatible /v1/batch, GA4 /mp/collect)."
  value       = module.ingest.uri
}

output "queryapi_url" {
  description = "Query API base URL (/v1/timeseries)."
  value       = module.queryapi.uri
}

output "image_repository" {
  description = "Where cloudbuild.yaml pushes images (its _REPOSITORY is the last path element)."
  value       = module.registry.url
}

output "dataflow_bucket" {
  description = "Dataflow staging bucket; cloudbuild.yaml's _TEMPLATES_BUCKET."
  value       = module.dataflow.bucket_name
}

output "templates_prefix" {
  description = "gs:// prefix of the flex-template specs."
  value       = module.dataflow.templates_prefix
}

output "streaming_job_id" {
  description = "Streaming Dataflow job id (null until launched)."
  value       = module.dataflow.job_id
}

output "pubsub_topic" {
  description = "Events topic."
  value       = module.pubsub.topic_id
}

output "pubsub_subscription" {
  description = "Pipeline subscription."
  value       = module.pubsub.subscription_id
}

output "bigtable_instance" {
  description = "Metrics Bigtable instance and app profile."
  value = {
    instance    = module.bigtable.instance_name
    app_profile = module.bigtable.app_profile_id
    routing     = module.bigtable.routing
  }
}

output "archive_table" {
  description = "BigQuery archive table (PROJECT:DATASET.TABLE)."
  value       = module.bigquery.table_spec
}

output "keys_secret" {
  description = "Secret Manager secret holding the merchant key file."
  value       = module.secrets.secret_name
}

output "service_accounts" {
  description = "Service account of each component."
  value = {
    ingest    = module.iam.ingest_email
    queryapi  = module.iam.queryapi_email
    dataflow  = module.iam.dataflow_worker_email
    scheduler = module.iam.scheduler_email
  }
}

output "seal_scheduler_job" {
  description = "Cloud Scheduler job that launches the hourly seal."
  value       = module.scheduler.name
}
