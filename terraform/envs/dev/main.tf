# footfall dev: the whole system at its smallest. Sizes and thresholds are
# written out here so that this file and envs/prod/main.tf differ only
# where the environments do.

locals {
  env    = "dev"
  labels = { app = "footfall", env = local.env }

  # The key file is mounted from Secret Manager at this path (KEYS_FILE).
  keys_file = "/secrets/keys.json"

  # Events older than this are rejected by ingest (MAX_EVENT_AGE) and no
  # longer update their hour in the pipeline (--allowed-lateness).
  max_event_age = "72h"

  ingest_image   = coalesce(var.ingest_image, "${module.registry.url}/ingest:${var.image_tag}")
  queryapi_image = coalesce(var.queryapi_image, "${module.registry.url}/queryapi:${var.image_tag}")
}

module "registry" {
  source     = "../../modules/registry"
  project_id = var.project_id
  location   = var.region
  labels     = local.labels
}

module "pubsub" {
  source     = "../../modules/pubsub"
  project_id = var.project_id
  labels     = local.labels
}

module "bigtable" {
  source     = "../../modules/bigtable"
  project_id = var.project_id
  clusters = [
    { cluster_id = "footfall-c1", zone = "${var.region}-a", min_nodes = 1, max_nodes = 3, cpu_target = 70 },
  ]
  deletion_protection = false
  labels              = local.labels
}

module "bigquery" {
  source                    = "../../modules/bigquery"
  project_id                = var.project_id
  location                  = var.bigquery_location
  partition_expiration_days = 30
  deletion_protection       = false
  labels                    = local.labels
}

module "iam" {
  source                       = "../../modules/iam"
  project_id                   = var.project_id
  topic_id                     = module.pubsub.topic_id
  subscription_id              = module.pubsub.subscription_id
  bigtable_instance_name       = module.bigtable.instance_name
  bigquery_dataset_id          = module.bigquery.dataset_id
  staging_bucket_name          = module.dataflow.bucket_name
  artifact_registry_location   = module.registry.location
  artifact_registry_repository = module.registry.repository_id
}

module "secrets" {
  source     = "../../modules/secrets"
  project_id = var.project_id
  accessors = {
    ingest   = module.iam.members["ingest"]
    queryapi = module.iam.members["queryapi"]
  }
  labels = local.labels
}

module "dataflow" {
  source                = "../../modules/dataflow"
  project_id            = var.project_id
  region                = var.region
  force_destroy         = true
  launch_streaming_job  = var.launch_streaming_job
  template_file         = "streaming-${var.image_tag}.json"
  service_account_email = module.iam.dataflow_worker_email
  subscription          = module.pubsub.subscription_name
  bigtable_instance     = module.bigtable.instance_name
  allowed_lateness      = local.max_event_age
  archive_table         = module.bigquery.table_spec
  bigtable_app_profile  = module.bigtable.app_profile_id
  extra_parameters      = var.streaming_extra_parameters
  machine_type          = "n2-standard-2"
  num_workers           = 1
  max_workers           = 3
  subnetwork            = var.dataflow_subnetwork
  labels                = local.labels
}

module "ingest" {
  source                = "../../modules/cloudrun"
  project_id            = var.project_id
  region                = var.region
  name                  = "ingest"
  image                 = local.ingest_image
  service_account_email = module.iam.ingest_email

  # Names: ingest/config.go. INGEST_ADDR is not set: Cloud Run sets PORT.
  env = merge({
    PUBSUB_PROJECT      = var.project_id
    PUBSUB_TOPIC        = module.pubsub.topic_name
    KEYS_FILE           = local.keys_file
    MAX_EVENT_AGE       = local.max_event_age
    MAX_FUTURE_SKEW     = "10m"
    PUBLISH_TIMEOUT     = "10s"
    RETRY_AFTER_SECONDS = "2"
  }, var.ingest_extra_env)
  secret_files = [{ secret = module.secrets.secret_id, version = var.keys_secret_version, path = local.keys_file }]

  min_instances = 0
  max_instances = 5
  concurrency   = 80
  cpu           = "1"
  memory        = "512Mi"
  invokers      = var.ingest_invokers
  labels        = local.labels
}

module "queryapi" {
  source                = "../../modules/cloudrun"
  project_id            = var.project_id
  region                = var.region
  name                  = "queryapi"
  image                 = local.queryapi_image
  service_account_email = module.iam.queryapi_email

  # Names: queryapi/config.go. QUERYAPI_ADDR is not set: Cloud Run sets PORT.
  env = merge({
    BIGTABLE_PROJECT     = var.project_id
    BIGTABLE_INSTANCE    = module.bigtable.instance_name
    BIGTABLE_APP_PROFILE = module.bigtable.app_profile_id
    KEYS_FILE            = local.keys_file
    MAX_POINTS           = "2000"
  }, var.queryapi_extra_env)
  secret_files = [{ secret = module.secrets.secret_id, version = var.keys_secret_version, path = local.keys_file }]

  min_instances = 0
  max_instances = 3
  concurrency   = 80
  cpu           = "1"
  memory        = "512Mi"
  invokers      = var.queryapi_invokers
  labels        = local.labels
}

module "scheduler" {
  source                = "../../modules/scheduler"
  project_id            = var.project_id
  region                = var.region
  service_account_email = module.iam.scheduler_email
  template_gcs_path     = "${module.dataflow.templates_prefix}/backfill-${var.image_tag}.json"
  parameters = merge({
    "seal-closed-hours"    = "true"
    "source"               = "bq:${module.bigquery.table_spec}"
    "bigtable-project"     = var.project_id
    "bigtable-instance"    = module.bigtable.instance_name
    "bigtable-app-profile" = module.bigtable.app_profile_id
  }, var.seal_parameters)
  worker_service_account_email = module.iam.dataflow_worker_email
  temp_location                = module.dataflow.temp_location
  staging_location             = module.dataflow.staging_location
  max_workers                  = 3
  subnetwork                   = var.dataflow_subnetwork
  # Nothing to seal until the streaming job runs and the backfill template exists.
  paused = !(var.launch_streaming_job && var.seal_schedule_enabled)
}

module "monitoring" {
  source                        = "../../modules/monitoring"
  project_id                    = var.project_id
  notification_channels         = var.notification_channels
  pubsub_subscription_name      = module.pubsub.subscription_name
  dead_letter_subscription_name = module.pubsub.dead_letter_subscription_name
  dataflow_job_name             = module.dataflow.job_name
  ingest_service_name           = module.ingest.name
  queryapi_service_name         = module.queryapi.name
  user_labels                   = local.labels

  # Loose in dev: page nobody for a paused pipeline.
  pubsub_oldest_unacked_seconds   = 1800
  dataflow_data_freshness_seconds = 1800
  dataflow_system_lag_seconds     = 900
  ingest_5xx_ratio                = 0.05
  queryapi_p99_latency_ms         = 2000
}
