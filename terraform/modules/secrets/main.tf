# The merchant key file as a Secret Manager secret. Terraform creates the
# secret and who may read it, never a version: key material stays out of
# Terraform state. Add versions with
#   gcloud secrets versions add footfall-keys --data-file=keys.json
# (docs/deploy.md). The services mount the latest version as a file.

resource "google_secret_manager_secret" "keys" {
  project   = var.project_id
  secret_id = var.secret_id
  labels    = var.labels

  replication {
    dynamic "auto" {
      for_each = length(var.replica_locations) == 0 ? [1] : []
      content {}
    }

    dynamic "user_managed" {
      for_each = length(var.replica_locations) == 0 ? [] : [1]
      content {
        dynamic "replicas" {
          for_each = var.replica_locations
          content {
            location = replicas.value
          }
        }
      }
    }
  }
}

resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each = var.accessors

  project   = var.project_id
  secret_id = google_secret_manager_secret.keys.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = each.value
}
