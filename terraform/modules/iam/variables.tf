variable "project_id" {
  type        = string
  description = "Project of the service accounts and resources."
}

variable "name_prefix" {
  type        = string
  description = "Prefix of the service account ids (<prefix>-ingest, -queryapi, -dataflow, -sealer, -scheduler, -build)."
  default     = "footfall"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,19}$", var.name_prefix))
    error_message = "name_prefix must be 5-20 characters of a-z, 0-9 and '-', starting with a letter (service account ids are at most 30)."
  }
}

variable "topic_id" {
  type        = string
  description = "Events topic ingest publishes to (full id)."
}

variable "subscription_id" {
  type        = string
  description = "Pipeline subscription the Dataflow workers read (full id)."
}

variable "bigtable_instance_name" {
  type        = string
  description = "Metrics Bigtable instance."
}

variable "bigquery_dataset_id" {
  type        = string
  description = "Archive dataset (short id) the Dataflow workers write and read."
}

variable "staging_bucket_name" {
  type        = string
  description = "Dataflow staging/temp bucket."
}

variable "artifact_registry_location" {
  type        = string
  description = "Location of the Artifact Registry repository holding the images."
}

variable "artifact_registry_repository" {
  type        = string
  description = "Artifact Registry repository id holding the images (the streaming launcher runs as the worker account and pulls its image; Cloud Run pulls the sealer's as the sealer)."
}
