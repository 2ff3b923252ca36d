# Cloud Scheduler calls Dataflow's flexTemplates:launch REST method every
# hour, with an OAuth token of a dedicated account, to run the backfill flex
# template in seal mode: recompute the hours that have closed from the
# archive and write them to the sealed family.

locals {
  launch_uri = "https://dataflow.googleapis.com/v1b3/projects/${var.project_id}/locations/${var.region}/flexTemplates:launch"

  # LaunchFlexTemplateRequest; absent optional settings are left out.
  launch_request = {
    launchParameter = {
      jobName              = var.job_name
      containerSpecGcsPath = var.template_gcs_path
      parameters           = var.parameters
      environment = merge(
        {
          serviceAccountEmail = var.worker_service_account_email
          tempLocation        = var.temp_location
          stagingLocation     = var.staging_location
          maxWorkers          = var.max_workers
        },
        var.machine_type == null ? {} : { machineType = var.machine_type },
        var.network == null ? {} : { network = var.network },
        var.subnetwork == null ? {} : { subnetwork = var.subnetwork },
        var.ip_configuration == null ? {} : { ipConfiguration = var.ip_configuration },
        length(var.additional_experiments) == 0 ? {} : { additionalExperiments = var.additional_experiments },
      )
    }
  }
}

resource "google_cloud_scheduler_job" "launch" {
  project          = var.project_id
  region           = var.region
  name             = var.name
  description      = var.description
  schedule         = var.schedule
  time_zone        = var.time_zone
  paused           = var.paused
  attempt_deadline = var.attempt_deadline

  retry_config {
    retry_count          = var.retry_count
    min_backoff_duration = "30s"
    max_backoff_duration = "300s"
  }

  http_target {
    http_method = "POST"
    uri         = local.launch_uri
    headers = {
      "Content-Type" = "application/json"
    }
    body = base64encode(jsonencode(local.launch_request))

    oauth_token {
      service_account_email = var.service_account_email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }
}
