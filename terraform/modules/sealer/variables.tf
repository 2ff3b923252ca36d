variable "project_id" {
  type        = string
  description = "Project of the Cloud Run job, the scheduler job and the Dataflow jobs the sealer submits."
}

variable "region" {
  type        = string
  description = "Region of the Cloud Run job and the scheduler job."
}

variable "name" {
  type        = string
  description = "Name of the Cloud Run job and of its scheduler job (Cloud Monitoring's job_name label)."
  default     = "footfall-sealer"
}

variable "image" {
  type        = string
  description = "The backfill command's job image (cloudbuild.yaml: <repository>/pipelines-backfill:<tag>, pipelines/Dockerfile target job)."
}

variable "service_account_email" {
  type        = string
  description = "Account the sealer runs as: it submits and watches the Dataflow jobs (which run as the worker account), writes seal records and reads the archive's appends table (modules/iam: sealer)."
}

variable "scheduler_service_account_email" {
  type        = string
  description = "Account whose OAuth token Cloud Scheduler sends to run the job; it is granted roles/run.invoker on the job here."
}

variable "flags" {
  type        = map(string)
  description = "Flags of every run, seal and manual backfill alike (name without dashes => value): Beam's Dataflow options and the backfill command's source and Bigtable flags. Each must be a flag of pipelines/cmd/backfill (TestTerraformFlagsExist)."
}

variable "seal_flags" {
  type        = map(string)
  description = "Flags of the scheduled seal passes only, e.g. { \"seal-closed-hours\" = \"true\", lookback = \"96h\" }."
  default     = { "seal-closed-hours" = "true" }
}

variable "schedule" {
  type        = string
  description = "Cron schedule (in time_zone) of the seal passes: hourly, a few minutes past the hour, after the default 2-minute grace."
  default     = "5 * * * *"
}

variable "time_zone" {
  type        = string
  description = "Time zone of schedule."
  default     = "Etc/UTC"
}

variable "paused" {
  type        = bool
  description = "Create the scheduler job paused (the Cloud Run job exists either way and can be run by hand)."
  default     = false
}

variable "task_timeout" {
  type        = string
  description = "How long one pass may run. A pass waits for its Dataflow jobs; after an outage it may reseal many hours."
  default     = "21600s"
}

variable "cpu" {
  type        = string
  description = "CPU of the job's container (it only submits and watches jobs)."
  default     = "1"
}

variable "memory" {
  type        = string
  description = "Memory of the job's container."
  default     = "1Gi"
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to destroy the Cloud Run job."
  default     = false
}

variable "labels" {
  type        = map(string)
  description = "Labels set on the Cloud Run job."
  default     = {}
}
