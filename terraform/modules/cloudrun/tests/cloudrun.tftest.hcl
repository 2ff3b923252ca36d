mock_provider "google" {}

variables {
  project_id            = "footfall-test"
  region                = "us-central1"
  name                  = "ingest"
  image                 = "us-central1-docker.pkg.dev/footfall-test/footfall/ingest:test"
  service_account_email = "footfall-ingest@footfall-test.iam.gserviceaccount.com"
  env = {
    PUBSUB_PROJECT = "footfall-test"
    PUBSUB_TOPIC   = "events"
    KEYS_FILE      = "/secrets/keys.json"
  }
  secret_files = [{ secret = "footfall-keys", path = "/secrets/keys.json" }]
  invokers     = ["allUsers"]
}

run "runs_as_its_service_account" {
  command = plan

  assert {
    condition     = google_cloud_run_v2_service.this.template[0].service_account == "footfall-ingest@footfall-test.iam.gserviceaccount.com"
    error_message = "the service runs as the account it is given."
  }

  assert {
    condition     = google_cloud_run_v2_service.this.template[0].containers[0].image == "us-central1-docker.pkg.dev/footfall-test/footfall/ingest:test"
    error_message = "the image is the one given."
  }
}

run "environment_is_passed_verbatim" {
  command = plan

  assert {
    condition = {
      for e in google_cloud_run_v2_service.this.template[0].containers[0].env : e.name => e.value
      } == {
      PUBSUB_PROJECT = "footfall-test"
      PUBSUB_TOPIC   = "events"
      KEYS_FILE      = "/secrets/keys.json"
    }
    error_message = "env names and values are set exactly as given."
  }
}

run "key_file_is_mounted_from_secret_manager" {
  command = plan

  assert {
    condition     = google_cloud_run_v2_service.this.template[0].containers[0].volume_mounts[0].mount_path == "/secrets"
    error_message = "the secret volume is mounted on the file's directory."
  }

  assert {
    condition     = google_cloud_run_v2_service.this.template[0].volumes[0].secret[0].secret == "footfall-keys"
    error_message = "the volume reads the footfall-keys secret."
  }

  assert {
    condition = (
      google_cloud_run_v2_service.this.template[0].volumes[0].secret[0].items[0].path == "keys.json" &&
      google_cloud_run_v2_service.this.template[0].volumes[0].secret[0].items[0].version == "latest"
    )
    error_message = "the latest secret version appears as keys.json."
  }
}

run "scaling_and_invokers" {
  command = plan

  variables {
    min_instances = 2
    max_instances = 50
    concurrency   = 200
  }

  assert {
    condition = (
      google_cloud_run_v2_service.this.template[0].scaling[0].min_instance_count == 2 &&
      google_cloud_run_v2_service.this.template[0].scaling[0].max_instance_count == 50 &&
      google_cloud_run_v2_service.this.template[0].max_instance_request_concurrency == 200
    )
    error_message = "scaling follows the variables."
  }

  assert {
    condition     = google_cloud_run_v2_service_iam_member.invoker["allUsers"].role == "roles/run.invoker"
    error_message = "invokers get roles/run.invoker."
  }
}

run "port_is_reserved" {
  command = plan

  variables {
    env = { PORT = "9000" }
  }

  expect_failures = [var.env]
}

run "secret_file_needs_a_directory" {
  command = plan

  variables {
    secret_files = [{ secret = "footfall-keys", path = "keys.json" }]
  }

  expect_failures = [var.secret_files]
}

run "one_directory_per_secret_file" {
  command = plan

  variables {
    secret_files = [
      { secret = "footfall-keys", path = "/secrets/keys.json" },
      { secret = "other", path = "/secrets/other.json" },
    ]
  }

  expect_failures = [var.secret_files]
}
