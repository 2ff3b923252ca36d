variable "project_id" {
  type        = string
  description = "Project whose metrics are watched and that owns the alert policies."
}

variable "notification_channels" {
  type        = list(string)
  description = "Notification channel ids (projects/P/notificationChannels/N) every policy notifies."
  default     = []
}

variable "pubsub_subscription_name" {
  type        = string
  description = "The pipeline subscription (short name)."
}

variable "dead_letter_counter" {
  type        = string
  description = "Beam counter of dead-lettered messages (pipelines/io/bqarchive)."
  default     = "archive_dead_letters"
}

variable "dead_letter_table" {
  type        = string
  description = "BigQuery dead-letter table (DATASET.TABLE), named in the alert's documentation."
  default     = "footfall.events_dead_letters"
}

variable "sealer_job_name" {
  type        = string
  description = "Cloud Run job of the sealer (modules/sealer)."
}

variable "dataflow_job_name" {
  type        = string
  description = "Name of the streaming Dataflow job."
}

variable "ingest_service_name" {
  type        = string
  description = "Cloud Run service name of ingest."
}

variable "queryapi_service_name" {
  type        = string
  description = "Cloud Run service name of the query API."
}

variable "condition_duration" {
  type        = string
  description = "How long a threshold must be crossed before a policy fires."
  default     = "300s"
}

variable "pubsub_oldest_unacked_seconds" {
  type        = number
  description = "Alert when the pipeline subscription's oldest unacknowledged message is older than this (seconds): events are waiting, metrics are going stale."
  default     = 600
}

variable "dataflow_data_freshness_seconds" {
  type        = number
  description = "Alert when the streaming job's data freshness (watermark age) exceeds this (seconds). The product allows metrics at most an hour late and aims for a minute."
  default     = 900
}

variable "dataflow_system_lag_seconds" {
  type        = number
  description = "Alert when the streaming job's system lag (longest time an element has waited) exceeds this (seconds)."
  default     = 600
}

variable "ingest_5xx_ratio" {
  type        = number
  description = "Alert when this fraction of ingest requests (0-1) answer 5xx, including the 503s sent while Pub/Sub is slow."
  default     = 0.05

  validation {
    condition     = var.ingest_5xx_ratio > 0 && var.ingest_5xx_ratio < 1
    error_message = "ingest_5xx_ratio is a fraction between 0 and 1."
  }
}

variable "queryapi_p99_latency_ms" {
  type        = number
  description = "Alert when the query API's 99th percentile request latency exceeds this (milliseconds)."
  default     = 1000
}

variable "user_labels" {
  type        = map(string)
  description = "Labels set on every policy (e.g. env = \"prod\")."
  default     = {}
}
