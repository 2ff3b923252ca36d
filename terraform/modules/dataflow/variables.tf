variable "project_id" {
  type        = string
  description = "Project the jobs run in."
}

variable "region" {
  type        = string
  description = "Dataflow region (workers and the flex-template launcher run here)."
}

variable "bucket_name" {
  type        = string
  description = "Staging/temp bucket; null names it <project_id>-footfall-dataflow. It holds templates/ (flex-template specs), staging/ (job binaries) and temp/."
  default     = null
}

variable "bucket_location" {
  type        = string
  description = "Bucket location; null uses region."
  default     = null
}

variable "temp_retention_days" {
  type        = number
  description = "Days after which objects under temp/ are deleted. staging/ is kept: a running job's new workers fetch their binary from it."
  default     = 7
}

variable "force_destroy" {
  type        = bool
  description = "Let terraform destroy delete the bucket with its objects (dev only)."
  default     = false
}

variable "launch_streaming_job" {
  type        = bool
  description = "Launch the streaming job. Set false until the streaming flex template has been built (docs/deploy.md)."
  default     = true
}

variable "job_name" {
  type        = string
  description = "Streaming job name (Cloud Monitoring's job_name label)."
  default     = "footfall-streaming"
}

variable "template_file" {
  type        = string
  description = "Object name, under templates/ in the bucket, of the streaming flex-template spec (cloudbuild.yaml writes streaming-<TAG>.json). A new name updates the running job in place."
  default     = "streaming.json"
}

variable "template_gcs_path" {
  type        = string
  description = "gs:// path of the streaming flex-template spec, overriding template_file when the spec lives elsewhere."
  default     = null
}

variable "service_account_email" {
  type        = string
  description = "Worker (and launcher) service account."
}

variable "pubsub_project" {
  type        = string
  description = "--pubsub-project; null uses project_id."
  default     = null
}

variable "subscription" {
  type        = string
  description = "--subscription: short name of the Pub/Sub subscription the job reads."
}

variable "bigtable_project" {
  type        = string
  description = "--bigtable-project; null uses project_id."
  default     = null
}

variable "bigtable_instance" {
  type        = string
  description = "--bigtable-instance: the metrics instance."
}

variable "early_firing" {
  type        = string
  description = "--early-firing: how often an open hour's provisional values are updated (Go duration). docs/capacity.md: 60s at production scale (each pane costs one Bigtable write per touched row)."
  default     = "60s"
}

variable "horizon" {
  type        = string
  description = "--horizon: how long after an hour ends the streaming job still updates it (Go duration). Older events (ingest accepts them up to MAX_EVENT_AGE) are archived and counted by the sealer; the horizon bounds the job's state (docs/pipeline.md, docs/capacity.md)."
  default     = "3h"
}

variable "max_names" {
  type        = number
  description = "--max-names: distinct event names kept per merchant-hour. The sealer must use the same value (terraform/contract checks the environments)."
  default     = 500
}

variable "top_k" {
  type        = number
  description = "--top-k: values kept per breakdown row. The sealer must use the same value."
  default     = 100
}

variable "bigtable_app_profile" {
  type        = string
  description = "--bigtable-app-profile: the Bigtable app profile the job writes through (the bigtable module's app_profiles[\"streaming\"]: single-cluster, no transactions); null uses the instance's default profile."
  default     = null
}

variable "archive_table" {
  type        = string
  description = "--archive-table: the BigQuery raw-event archive every event is appended to, as PROJECT:DATASET.TABLE or PROJECT.DATASET.TABLE (the bigquery module's table_spec output)."

  validation {
    condition     = can(regex("^[a-z][-a-z0-9.:]*[a-z0-9][:.][A-Za-z0-9_]+[.][A-Za-z0-9_]+$", var.archive_table))
    error_message = "archive_table must be PROJECT:DATASET.TABLE or PROJECT.DATASET.TABLE."
  }
}

variable "extra_parameters" {
  type        = map(string)
  description = "More template parameters (flag name => value) for flags added to the streaming job later; each must also be declared in pipelines/templates/streaming-metadata.json."
  default     = {}
}

variable "machine_type" {
  type        = string
  description = "Worker machine type."
  default     = "n2-standard-2"
}

variable "num_workers" {
  type        = number
  description = "Workers at start."
  default     = 1
}

variable "max_workers" {
  type        = number
  description = "Upper bound for autoscaling."
  default     = 5

  validation {
    condition     = var.max_workers >= 1
    error_message = "max_workers must be at least 1."
  }
}

variable "network" {
  type        = string
  description = "VPC network for the workers; null uses \"default\"."
  default     = null
}

variable "subnetwork" {
  type        = string
  description = "Subnetwork for the workers (regions/R/subnetworks/S or a full URL); null lets Dataflow choose."
  default     = null
}

variable "ip_configuration" {
  type        = string
  description = "WORKER_IP_PRIVATE (needs Private Google Access on the subnetwork) or WORKER_IP_PUBLIC; null is Dataflow's default (public)."
  default     = null

  validation {
    condition     = var.ip_configuration == null ? true : contains(["WORKER_IP_PRIVATE", "WORKER_IP_PUBLIC"], var.ip_configuration)
    error_message = "ip_configuration must be null, WORKER_IP_PRIVATE or WORKER_IP_PUBLIC."
  }
}

variable "additional_experiments" {
  type        = list(string)
  description = "Dataflow experiments to enable."
  default     = []
}

variable "labels" {
  type        = map(string)
  description = "Labels set on the bucket and the job."
  default     = {}
}
