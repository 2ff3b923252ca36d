variable "project_id" {
  type        = string
  description = "Project that owns the dataset."
}

variable "location" {
  type        = string
  description = "Dataset location: a multi-region (\"US\", \"EU\") or the region the pipelines run in."
  default     = "US"
}

variable "dataset_id" {
  type        = string
  description = "Dataset of the raw-event archive."
  default     = "footfall"
}

variable "table_id" {
  type        = string
  description = "Archive table: one row per accepted event, schema from events_schema.json."
  default     = "events"
}

variable "partition_expiration_days" {
  type        = number
  description = "Days after which a day partition of the archive is deleted; null keeps events forever (backfill can only recompute what the archive still holds)."
  default     = null

  validation {
    condition     = var.partition_expiration_days == null ? true : var.partition_expiration_days >= 1
    error_message = "partition_expiration_days must be null or at least 1."
  }
}

variable "require_partition_filter" {
  type        = bool
  description = "Reject queries on the archive that do not filter on event_time, so nobody scans all history by mistake."
  default     = true
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to destroy the archive table, and keep the dataset's tables when the dataset is destroyed."
  default     = true
}

variable "labels" {
  type        = map(string)
  description = "Labels set on the dataset and the table."
  default     = {}
}
