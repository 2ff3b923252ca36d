output "repository_id" {
  description = "Repository id."
  value       = google_artifact_registry_repository.images.repository_id
}

output "location" {
  description = "Repository location."
  value       = google_artifact_registry_repository.images.location
}

output "url" {
  description = "Image prefix: LOCATION-docker.pkg.dev/PROJECT/REPOSITORY."
  value       = "${var.location}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}
