mock_provider "google" {}

variables {
  project_id = "footfall-test"
  accessors = {
    ingest   = "serviceAccount:footfall-ingest@footfall-test.iam.gserviceaccount.com"
    queryapi = "serviceAccount:footfall-queryapi@footfall-test.iam.gserviceaccount.com"
  }
}

run "key_secret_and_its_readers" {
  command = plan

  assert {
    condition     = google_secret_manager_secret.keys.secret_id == "footfall-keys"
    error_message = "the key file secret is footfall-keys."
  }

  assert {
    condition     = length(google_secret_manager_secret.keys.replication[0].auto) == 1
    error_message = "automatic replication by default."
  }

  assert {
    condition     = toset(keys(google_secret_manager_secret_iam_member.accessor)) == toset(["ingest", "queryapi"])
    error_message = "each service gets its own accessor grant."
  }

  assert {
    condition     = alltrue([for m in google_secret_manager_secret_iam_member.accessor : m.role == "roles/secretmanager.secretAccessor"])
    error_message = "accessors get roles/secretmanager.secretAccessor on the secret only."
  }
}

run "user_managed_replication" {
  command = plan

  variables {
    replica_locations = ["us-central1", "us-east1"]
  }

  assert {
    condition     = length(google_secret_manager_secret.keys.replication[0].auto) == 0 && length(google_secret_manager_secret.keys.replication[0].user_managed[0].replicas) == 2
    error_message = "replica_locations switches to user-managed replication."
  }
}
