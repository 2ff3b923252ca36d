output "bucket_name" {
  description = "Staging/temp bucket name."
  value       = google_storage_bucket.dataflow.name
}

output "bucket_url" {
  description = "gs:// URL of the bucket."
  value       = "gs://${google_storage_bucket.dataflow.name}"
}

output "temp_location" {
  description = "Dataflow temp location (gs://)."
  value       = local.temp_location
}

output "staging_location" {
  description = "Dataflow staging location (gs://)."
  value       = local.staging_location
}

output "templates_prefix" {
  description = "gs:// prefix where cloudbuild.yaml writes the flex-template specs (streaming.json, backfill.json)."
  value       = local.templates_prefix
}

output "streaming_template_path" {
  description = "gs:// path of the streaming flex-template spec."
  value       = local.template_gcs_path
}

output "job_name" {
  description = "Streaming job name."
  value       = var.job_name
}

output "job_id" {
  description = "Streaming job id; null when the job is not launched."
  value       = try(google_dataflow_flex_template_job.streaming[0].job_id, null)
}

output "parameters" {
  description = "Template parameters (flags) the streaming job is launched with."
  value       = local.parameters
}
