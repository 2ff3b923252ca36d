# The sealer: a Cloud Run job running pipelines/cmd/backfill --seal-closed-hours
# once per execution, started hourly by Cloud Scheduler.
#
# Sealing is not one Dataflow job: each pass decides which hours are due,
# submits one batch Dataflow job per chunk of hours (seal.Launch), waits for
# each to finish and writes an hour's seal record only after its job
# succeeded. That orchestration needs a process that outlives the jobs, so
# it runs here rather than as a flex-template launch (whose launcher only
# submits). A failed job leaves its hours unsealed, the execution fails,
# and modules/monitoring alerts on failed executions; the next pass redoes
# the hours. Manual backfills run the same job with other arguments
# (docs/deploy.md, "Backfill").

locals {
  # --name=value for every flag, in a stable order.
  common_args = [for k in sort(keys(var.flags)) : "--${k}=${var.flags[k]}"]
  seal_args   = [for k in sort(keys(var.seal_flags)) : "--${k}=${var.seal_flags[k]}"]
  args        = concat(local.common_args, local.seal_args)

  run_uri = "https://run.googleapis.com/v2/projects/${var.project_id}/locations/${var.region}/jobs/${var.name}:run"
}

resource "google_cloud_run_v2_job" "this" {
  project             = var.project_id
  location            = var.region
  name                = var.name
  deletion_protection = var.deletion_protection
  labels              = var.labels

  template {
    task_count  = 1
    parallelism = 1

    template {
      service_account = var.service_account_email
      timeout         = var.task_timeout
      # A failed pass is not retried here: its hours stay unsealed, the
      # alert fires, and the next scheduled pass redoes them.
      max_retries = 0

      containers {
        image = var.image
        args  = local.args

        resources {
          limits = {
            cpu    = var.cpu
            memory = var.memory
          }
        }
      }
    }
  }
}

# Cloud Scheduler runs the job (jobs.run) with an OAuth token of its own
# account, which needs roles/run.invoker on the job.
resource "google_cloud_run_v2_job_iam_member" "scheduler_runs" {
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_job.this.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${var.scheduler_service_account_email}"
}

resource "google_cloud_scheduler_job" "seal" {
  project          = var.project_id
  region           = var.region
  name             = var.name
  description      = "Runs the Cloud Run job ${var.name}: one sealer pass (pipelines/cmd/backfill --seal-closed-hours)."
  schedule         = var.schedule
  time_zone        = var.time_zone
  paused           = var.paused
  attempt_deadline = "60s"

  retry_config {
    retry_count          = 3
    min_backoff_duration = "30s"
    max_backoff_duration = "300s"
  }

  http_target {
    http_method = "POST"
    uri         = local.run_uri

    oauth_token {
      service_account_email = var.scheduler_service_account_email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  depends_on = [google_cloud_run_v2_job_iam_member.scheduler_runs]
}
