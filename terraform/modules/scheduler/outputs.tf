output "name" {
  description = "Cloud Scheduler job name."
  value       = google_cloud_scheduler_job.launch.name
}

output "id" {
  description = "Cloud Scheduler job id."
  value       = google_cloud_scheduler_job.launch.id
}

output "launch_uri" {
  description = "The flexTemplates:launch URL the job calls."
  value       = local.launch_uri
}

output "launch_request" {
  description = "The LaunchFlexTemplateRequest the job posts (decoded)."
  value       = local.launch_request
}

output "paused" {
  description = "Whether the scheduler job is paused."
  value       = var.paused
}
