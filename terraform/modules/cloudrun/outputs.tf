output "name" {
  description = "Service name."
  value       = google_cloud_run_v2_service.this.name
}

output "id" {
  description = "Full service id."
  value       = google_cloud_run_v2_service.this.id
}

output "uri" {
  description = "HTTPS URL of the service."
  value       = google_cloud_run_v2_service.this.uri
}

output "service_account_email" {
  description = "Identity the service runs as."
  value       = google_cloud_run_v2_service.this.template[0].service_account
}

output "env_names" {
  description = "Names of every environment variable set (plain and from secrets), sorted."
  value       = sort(concat(keys(var.env), keys(var.secret_env)))
}

output "env" {
  description = "Plain environment variables (no secret values are ever here)."
  value       = var.env
}

output "scaling" {
  description = "Instance bounds and per-instance concurrency."
  value = {
    min_instances = var.min_instances
    max_instances = var.max_instances
    concurrency   = var.concurrency
  }
}

output "invokers" {
  description = "Members granted roles/run.invoker."
  value       = sort(var.invokers)
}

output "secret_files" {
  description = "Secrets mounted as files: [{secret, version, path}]."
  value       = var.secret_files
}

output "deletion_protection" {
  description = "Whether the service refuses to be destroyed."
  value       = var.deletion_protection
}
