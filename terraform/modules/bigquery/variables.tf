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

variable "storage_billing_model" {
  type        = string
  description = "Storage billing of the dataset: PHYSICAL (compressed bytes; the archive compresses well) or LOGICAL."
  default     = "PHYSICAL"

  validation {
    condition     = contains(["PHYSICAL", "LOGICAL"], var.storage_billing_model)
    error_message = "storage_billing_model must be PHYSICAL or LOGICAL."
  }
}

variable "clustering" {
  type        = list(string)
  description = "Clustering columns of the archive (bqarchive.ClusterFields): event_time, so reading one hour (every seal) prunes to about that hour's blocks."
  default     = ["event_time"]
}

variable "appends_retention_days" {
  type        = number
  description = "Days the appends table keeps a partition. Must exceed the sealer's --lookback (96 h) with margin: an hour whose appends rows expired looks changed to it (bqarchive.AppendsRetention)."
  default     = 14

  validation {
    condition     = var.appends_retention_days >= 5
    error_message = "appends_retention_days must be at least 5 (the sealer looks back 4 days)."
  }
}

variable "dead_letter_retention_days" {
  type        = number
  description = "Days dead letters are kept; null keeps them."
  default     = 90
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
