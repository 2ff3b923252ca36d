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
  description = "Metrics Bigtable instance, its app profiles by workload and how each routes."
  value = {
    instance     = module.bigtable.instance_name
    app_profiles = module.bigtable.app_profiles
    routing      = module.bigtable.profile_routing
    keys_table   = module.bigtable.keys_table
  }
}

output "archive_table" {
  description = "BigQuery archive table (PROJECT:DATASET.TABLE)."
  value       = module.bigquery.table_spec
}

output "dead_letters_table" {
  description = "BigQuery dead-letter table (DATASET.TABLE)."
  value       = "${module.bigquery.dataset_id}.${module.bigquery.dead_letters_table_id}"
}

output "service_accounts" {
  description = "Service account of each component."
  value = {
    ingest    = module.iam.ingest_email
    queryapi  = module.iam.queryapi_email
    dataflow  = module.iam.dataflow_worker_email
    sealer    = module.iam.sealer_email
    scheduler = module.iam.scheduler_email
    build     = module.iam.build_email
  }
}

output "sealer_job" {
  description = "Cloud Run job of the hourly seal pass (and of manual backfills)."
  value       = module.sealer.name
}

output "backfill_args" {
  description = "Arguments a manual backfill starts from: gcloud run jobs execute <sealer_job> --args=\"$(terraform output -json backfill_args | jq -r 'join(\",\")'),--from=...,--to=...\"."
  value       = module.sealer.backfill_args
}
