output "name" {
  description = "Cloud Run job name (also the scheduler job's)."
  value       = google_cloud_run_v2_job.this.name
}

output "scheduler_job" {
  description = "Cloud Scheduler job name."
  value       = google_cloud_scheduler_job.seal.name
}

output "run_uri" {
  description = "The jobs.run URL Cloud Scheduler calls."
  value       = local.run_uri
}

output "args" {
  description = "Arguments of a scheduled seal pass."
  value       = local.args
}

output "backfill_args" {
  description = "Arguments every manual backfill starts from (no --seal-closed-hours): gcloud run jobs execute NAME --args=\"$(join ,),--from=...,--to=...\"."
  value       = local.common_args
}

output "flags" {
  description = "Flags of every run, seal-only flags merged in."
  value       = merge(var.flags, var.seal_flags)
}

output "service_account_email" {
  description = "Account the sealer runs as."
  value       = google_cloud_run_v2_job.this.template[0].template[0].service_account
}

output "paused" {
  description = "Whether the hourly passes are paused."
  value       = var.paused
}
