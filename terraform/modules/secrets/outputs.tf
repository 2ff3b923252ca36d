output "secret_id" {
  description = "Short secret id, for Cloud Run secret references. Depends on the accessor grants, so a service that uses it starts only once it may read the secret."
  value       = google_secret_manager_secret.keys.secret_id
  depends_on  = [google_secret_manager_secret_iam_member.accessor]
}

output "secret_name" {
  description = "Full secret name (projects/P/secrets/S)."
  value       = google_secret_manager_secret.keys.id
}

output "accessors" {
  description = "Members that may read the secret."
  value       = var.accessors
}
