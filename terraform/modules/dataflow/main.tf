# Dataflow: the bucket the jobs stage through, and the streaming job
# launched from its flex template (built by cloudbuild.yaml from
# pipelines/Dockerfile). The sealer (modules/sealer, a Cloud Run job)
# submits its batch jobs through the same bucket.

locals {
  bucket_name      = coalesce(var.bucket_name, "${var.project_id}-footfall-dataflow")
  bucket_url       = "gs://${local.bucket_name}"
  temp_location    = "${local.bucket_url}/temp"
  staging_location = "${local.bucket_url}/staging"
  templates_prefix = "${local.bucket_url}/templates"

  template_gcs_path = coalesce(var.template_gcs_path, "${local.templates_prefix}/${var.template_file}")

  # Flags of pipelines/cmd/streaming, in their underscore form (the command
  # defines both: pipeflags.AliasUnderscores); each is declared in
  # pipelines/templates/streaming-metadata.json (tests in pipelines/cmd/streaming).
  parameters = merge({
    "pubsub_project"    = coalesce(var.pubsub_project, var.project_id)
    "subscription"      = var.subscription
    "bigtable_project"  = coalesce(var.bigtable_project, var.project_id)
    "bigtable_instance" = var.bigtable_instance
    "early_firing"      = var.early_firing
    "horizon"           = var.horizon
    "archive_table"     = var.archive_table
    "max_names"         = tostring(var.max_names)
    "top_k"             = tostring(var.top_k)
  }, var.bigtable_app_profile == null ? {} : { "bigtable_app_profile" = var.bigtable_app_profile }, var.extra_parameters)
}

resource "google_storage_bucket" "dataflow" {
  project                     = var.project_id
  name                        = local.bucket_name
  location                    = upper(coalesce(var.bucket_location, var.region))
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = var.force_destroy
  labels                      = var.labels

  lifecycle_rule {
    condition {
      age            = var.temp_retention_days
      matches_prefix = ["temp/"]
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_dataflow_flex_template_job" "streaming" {
  provider = google-beta
  count    = var.launch_streaming_job ? 1 : 0

  project                 = var.project_id
  region                  = var.region
  name                    = var.job_name
  container_spec_gcs_path = local.template_gcs_path
  parameters              = local.parameters
  labels                  = var.labels

  service_account_email   = var.service_account_email
  enable_streaming_engine = true
  machine_type            = var.machine_type
  num_workers             = var.num_workers
  max_workers             = var.max_workers
  temp_location           = local.temp_location
  staging_location        = local.staging_location
  network                 = var.network
  subnetwork              = var.subnetwork
  ip_configuration        = var.ip_configuration
  additional_experiments  = var.additional_experiments

  # terraform destroy (or replacing the job) drains it: Pub/Sub reads stop,
  # in-flight windows are flushed to Bigtable, nothing read is lost.
  on_delete = "drain"
}
