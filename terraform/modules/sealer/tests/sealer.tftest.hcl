mock_provider "google" {}

variables {
  project_id                      = "footfall-test"
  region                          = "us-central1"
  image                           = "us-central1-docker.pkg.dev/footfall-test/footfall/pipelines-backfill:abc"
  service_account_email           = "footfall-sealer@footfall-test.iam.gserviceaccount.com"
  scheduler_service_account_email = "footfall-scheduler@footfall-test.iam.gserviceaccount.com"
  flags = {
    runner = "dataflow"
    source = "bq:footfall-test:footfall.events"
  }
}

run "hourly_pass_runs_the_cloud_run_job" {
  command = plan

  assert {
    condition     = google_cloud_scheduler_job.seal.http_target[0].uri == "https://run.googleapis.com/v2/projects/footfall-test/locations/us-central1/jobs/footfall-sealer:run"
    error_message = "the scheduler runs the Cloud Run job (jobs.run), it does not launch a template."
  }

  assert {
    condition     = google_cloud_scheduler_job.seal.http_target[0].oauth_token[0].service_account_email == var.scheduler_service_account_email
    error_message = "the scheduler authenticates as its own account."
  }

  assert {
    condition     = google_cloud_run_v2_job_iam_member.scheduler_runs.role == "roles/run.invoker" && google_cloud_run_v2_job_iam_member.scheduler_runs.member == "serviceAccount:${var.scheduler_service_account_email}"
    error_message = "the scheduler's account may run the job."
  }
}

run "seal_args_extend_the_backfill_args" {
  command = plan

  assert {
    condition     = output.backfill_args == ["--runner=dataflow", "--source=bq:footfall-test:footfall.events"]
    error_message = "manual backfills start from the common flags."
  }

  assert {
    condition     = output.args == ["--runner=dataflow", "--source=bq:footfall-test:footfall.events", "--seal-closed-hours=true"]
    error_message = "a scheduled pass adds --seal-closed-hours."
  }

  assert {
    condition     = google_cloud_run_v2_job.this.template[0].template[0].max_retries == 0 && google_cloud_run_v2_job.this.template[0].template[0].service_account == var.service_account_email
    error_message = "a failed pass is not retried by Cloud Run (the next pass redoes its hours) and runs as the sealer."
  }
}
