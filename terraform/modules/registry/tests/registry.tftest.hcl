mock_provider "google" {}

variables {
  project_id = "footfall-test"
  location   = "us-central1"
}

run "docker_repository" {
  command = plan

  assert {
    condition     = google_artifact_registry_repository.images.format == "DOCKER"
    error_message = "the repository holds Docker images."
  }

  assert {
    condition     = output.url == "us-central1-docker.pkg.dev/footfall-test/footfall"
    error_message = "image prefix is LOCATION-docker.pkg.dev/PROJECT/REPOSITORY."
  }
}
