mock_provider "google" {}

variables {
  project_id                   = "footfall-test"
  region                       = "us-central1"
  service_account_email        = "footfall-scheduler@footfall-test.iam.gserviceaccount.com"
  worker_service_account_email = "footfall-dataflow@footfall-test.iam.gserviceaccount.com"
  template_gcs_path            = "gs://footfall-test-footfall-dataflow/templates/backfill.json"
  temp_location                = "gs://footfall-test-footfall-dataflow/temp"
  staging_location             = "gs://footfall-test-footfall-dataflow/staging"
  parameters                   = { "seal-closed-hours" = "true" }
}

run "hourly_launch_of_the_backfill_template" {
  command = plan

  assert {
    condition     = google_cloud_scheduler_job.launch.schedule == "10 * * * *" && google_cloud_scheduler_job.launch.time_zone == "Etc/UTC"
    error_message = "the seal runs hourly (UTC)."
  }

  assert {
    condition     = google_cloud_scheduler_job.launch.http_target[0].uri == "https://dataflow.googleapis.com/v1b3/projects/footfall-test/locations/us-central1/flexTemplates:launch"
    error_message = "the job calls Dataflow's flexTemplates:launch in the region."
  }

  assert {
    condition     = google_cloud_scheduler_job.launch.http_target[0].http_method == "POST"
    error_message = "launch is a POST."
  }

  assert {
    condition     = google_cloud_scheduler_job.launch.http_target[0].oauth_token[0].service_account_email == "footfall-scheduler@footfall-test.iam.gserviceaccount.com"
    error_message = "the call carries an OAuth token of the scheduler account."
  }
}

run "launch_request_body" {
  command = plan

  assert {
    condition     = jsondecode(base64decode(google_cloud_scheduler_job.launch.http_target[0].body)).launchParameter.containerSpecGcsPath == "gs://footfall-test-footfall-dataflow/templates/backfill.json"
    error_message = "the body launches the backfill template."
  }

  assert {
    condition     = jsondecode(base64decode(google_cloud_scheduler_job.launch.http_target[0].body)).launchParameter.parameters == { "seal-closed-hours" = "true" }
    error_message = "the body passes the seal parameters."
  }

  assert {
    condition     = jsondecode(base64decode(google_cloud_scheduler_job.launch.http_target[0].body)).launchParameter.environment.serviceAccountEmail == "footfall-dataflow@footfall-test.iam.gserviceaccount.com"
    error_message = "the launched job runs as the worker account."
  }

  assert {
    condition     = !contains(keys(jsondecode(base64decode(google_cloud_scheduler_job.launch.http_target[0].body)).launchParameter.environment), "subnetwork")
    error_message = "unset options are left out of the request."
  }
}

run "network_options_are_passed_when_set" {
  command = plan

  variables {
    subnetwork       = "regions/us-central1/subnetworks/dataflow"
    ip_configuration = "WORKER_IP_PRIVATE"
  }

  assert {
    condition     = output.launch_request.launchParameter.environment.subnetwork == "regions/us-central1/subnetworks/dataflow" && output.launch_request.launchParameter.environment.ipConfiguration == "WORKER_IP_PRIVATE"
    error_message = "network options reach the launch request."
  }
}
