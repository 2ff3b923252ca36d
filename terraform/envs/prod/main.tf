# footfall prod: replicated Bigtable, warm services, tight alerts, nothing
# destroyable by accident. Sizes and thresholds are written out here so that
# this file and envs/dev/main.tf differ only where the environments do.
#
# Sized for the product brief: 5 B events/day (58k/s average), 174k/s peaks;
# docs/capacity.md ("Production settings") derives the numbers below, and
# terraform/contract checks that the two agree.

locals {
  env    = "prod"
  labels = { app = "footfall", env = local.env }

  # Events older than this are rejected by ingest (MAX_EVENT_AGE). The
  # streaming job updates an hour for `horizon` after it ends; older events
  # are archived and counted by the sealer, which looks back further
  # (seal_lookback) so that every accepted event is eventually sealed.
  max_event_age   = "72h"
  max_future_skew = "10m"
  seal_lookback   = "96h"

  # The streaming job and the sealer must bound rows alike, or sealed and
  # provisional values disagree.
  max_names = 500
  top_k     = 100

  # docs/capacity.md: provisional writes cost one Bigtable write per touched
  # row per pane; at 5 B/day a pane a minute is what Bigtable can take.
  early_firing = "60s"
  horizon      = "3h"

  ingest_image   = coalesce(var.ingest_image, "${module.registry.url}/ingest:${var.image_tag}")
  queryapi_image = coalesce(var.queryapi_image, "${module.registry.url}/queryapi:${var.image_tag}")
  sealer_image   = coalesce(var.sealer_image, "${module.registry.url}/pipelines-backfill:${var.image_tag}")

  # Where both services find merchant keys: the Bigtable key store, read
  # through the readers' profile, cached KEYS_CACHE_TTL (the longest a
  # revoked key keeps working).
  keys_env = {
    KEYS_BIGTABLE_PROJECT     = var.project_id
    KEYS_BIGTABLE_INSTANCE    = module.bigtable.instance_name
    KEYS_BIGTABLE_APP_PROFILE = module.bigtable.app_profiles["queryapi"]
    KEYS_CACHE_TTL            = "60s"
  }
}

module "registry" {
  source     = "../../modules/registry"
  project_id = var.project_id
  location   = var.region
  labels     = local.labels
}

module "network" {
  source     = "../../modules/network"
  project_id = var.project_id
  region     = var.region
}

module "pubsub" {
  source     = "../../modules/pubsub"
  project_id = var.project_id
  labels     = local.labels
}

module "bigtable" {
  source     = "../../modules/bigtable"
  project_id = var.project_id
  # Two clusters in different zones. The readers' profile routes to any
  # healthy cluster; the writers' profiles (streaming, sealer) stay on one
  # cluster, moved by bigtable_writer_cluster after a zone outage
  # (docs/deploy.md). CPU target 50% leaves each cluster room to carry the
  # other's reads while the autoscaler catches up. max_nodes: docs/capacity.md
  # (peak writes need ~31 nodes per cluster; stored data adds a node per
  # 2.5 TB, which the autoscaler also keeps).
  clusters = [
    { cluster_id = "footfall-c1", zone = "${var.region}-a", min_nodes = 3, max_nodes = 60, cpu_target = 50 },
    { cluster_id = "footfall-c2", zone = "${var.region}-b", min_nodes = 3, max_nodes = 60, cpu_target = 50 },
  ]
  single_cluster_id   = var.bigtable_writer_cluster
  deletion_protection = true
  labels              = local.labels
}

module "bigquery" {
  source     = "../../modules/bigquery"
  project_id = var.project_id
  location   = var.bigquery_location
  # The archive is the source of truth for backfills: keep it.
  partition_expiration_days = null
  deletion_protection       = true
  storage_billing_model     = "PHYSICAL"
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

module "dataflow" {
  source                = "../../modules/dataflow"
  project_id            = var.project_id
  region                = var.region
  force_destroy         = false
  launch_streaming_job  = var.launch_streaming_job
  template_file         = "streaming-${var.image_tag}.json"
  service_account_email = module.iam.dataflow_worker_email
  subscription          = module.pubsub.subscription_name
  bigtable_instance     = module.bigtable.instance_name
  bigtable_app_profile  = module.bigtable.app_profiles["streaming"]
  horizon               = local.horizon
  early_firing          = local.early_firing
  max_names             = local.max_names
  top_k                 = local.top_k
  archive_table         = module.bigquery.table_spec
  extra_parameters      = var.streaming_extra_parameters
  machine_type          = "n2-standard-4"
  num_workers           = 3
  max_workers           = 50
  subnetwork            = module.network.dataflow_subnetwork
  ip_configuration      = "WORKER_IP_PRIVATE"
  labels                = local.labels
}

module "ingest" {
  source                = "../../modules/cloudrun"
  project_id            = var.project_id
  region                = var.region
  name                  = "ingest"
  image                 = local.ingest_image
  service_account_email = module.iam.ingest_email

  # Names: ingest/config.go and internal/keys.Config (terraform/contract
  # checks every name). INGEST_ADDR is not set: Cloud Run sets PORT.
  env = merge(local.keys_env, {
    PUBSUB_PROJECT      = var.project_id
    PUBSUB_TOPIC        = module.pubsub.topic_name
    MAX_EVENT_AGE       = local.max_event_age
    MAX_FUTURE_SKEW     = local.max_future_skew
    PUBLISH_TIMEOUT     = "10s"
    RETRY_AFTER_SECONDS = "2"
    # Cloud Run's front end connects to the container from a link-local
    # address (169.254.0.0/16) and appends the client's address to
    # X-Forwarded-For; ingest reads the header from the right past trusted
    # proxies, so the client address is what it takes (countries from it).
    # Behind an external Application Load Balancer, add its address: Google
    # appends "<client>,<load balancer>" there.
    TRUSTED_PROXIES = "169.254.0.0/16"
  }, var.ingest_extra_env)

  # docs/capacity.md: ~1,900 requests in flight at peak (64k requests/s ×
  # ~30 ms); 250 per 1-vCPU instance; CPU is not the limit (~7 µs/event).
  # Instance-based billing (CPU always allocated): no per-request fee, which
  # at ~56 billion requests a month would dominate ingest's cost.
  cpu_idle            = false
  min_instances       = 3
  max_instances       = 100
  concurrency         = 250
  cpu                 = "1"
  memory              = "1Gi"
  invokers            = var.ingest_invokers
  deletion_protection = true
  labels              = local.labels
}

module "queryapi" {
  source                = "../../modules/cloudrun"
  project_id            = var.project_id
  region                = var.region
  name                  = "queryapi"
  image                 = local.queryapi_image
  service_account_email = module.iam.queryapi_email

  # Names: queryapi/config.go and internal/keys.Config. QUERYAPI_ADDR is
  # not set: Cloud Run sets PORT.
  env = merge(local.keys_env, {
    BIGTABLE_PROJECT     = var.project_id
    BIGTABLE_INSTANCE    = module.bigtable.instance_name
    BIGTABLE_APP_PROFILE = module.bigtable.app_profiles["queryapi"]
    MAX_POINTS           = "2000"
  }, var.queryapi_extra_env)

  min_instances       = 2
  max_instances       = 100
  concurrency         = 80
  cpu                 = "1"
  memory              = "1Gi"
  invokers            = var.queryapi_invokers
  deletion_protection = true
  labels              = local.labels
}

module "sealer" {
  source                          = "../../modules/sealer"
  project_id                      = var.project_id
  region                          = var.region
  image                           = local.sealer_image
  service_account_email           = module.iam.sealer_email
  scheduler_service_account_email = module.iam.scheduler_email

  # Flags of pipelines/cmd/backfill (TestTerraformFlagsExist): Beam's
  # Dataflow options for the jobs it submits, then its own.
  flags = merge({
    "runner"                = "dataflow"
    "project"               = var.project_id
    "region"                = var.region
    "staging_location"      = module.dataflow.staging_location
    "temp_location"         = module.dataflow.temp_location
    "service_account_email" = module.iam.dataflow_worker_email
    "subnetwork"            = module.network.dataflow_subnetwork
    "no_use_public_ips"     = "true"
    "worker_machine_type"   = "n2-standard-4"
    "max_num_workers"       = "20"
    "source"                = "bq:${module.bigquery.table_spec}"
    "bigtable-project"      = var.project_id
    "bigtable-instance"     = module.bigtable.instance_name
    "bigtable-app-profile"  = module.bigtable.app_profiles["sealer"]
    "max-names"             = tostring(local.max_names)
    "top-k"                 = tostring(local.top_k)
    "progress"              = "log"
  }, var.sealer_extra_flags)
  seal_flags = {
    "seal-closed-hours" = "true"
    "lookback"          = local.seal_lookback
  }
  # Nothing to seal until the streaming job runs and the sealer image exists.
  paused              = !(var.launch_streaming_job && var.seal_schedule_enabled)
  deletion_protection = true
  labels              = local.labels
}

module "monitoring" {
  source                   = "../../modules/monitoring"
  project_id               = var.project_id
  notification_channels    = var.notification_channels
  pubsub_subscription_name = module.pubsub.subscription_name
  dataflow_job_name        = module.dataflow.job_name
  ingest_service_name      = module.ingest.name
  queryapi_service_name    = module.queryapi.name
  sealer_job_name          = module.sealer.name
  dead_letter_table        = "${module.bigquery.dataset_id}.${module.bigquery.dead_letters_table_id}"
  user_labels              = local.labels

  # Metrics may be at most an hour late; page well before that.
  pubsub_oldest_unacked_seconds   = 300
  dataflow_data_freshness_seconds = 300
  dataflow_system_lag_seconds     = 120
  ingest_5xx_ratio                = 0.01
  queryapi_p99_latency_ms         = 500
}
