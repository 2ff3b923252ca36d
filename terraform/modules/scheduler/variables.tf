variable "project_id" {
  type        = string
  description = "Project the scheduler job and the launched Dataflow jobs belong to."
}

variable "region" {
  type        = string
  description = "Region of the scheduler job and of the launched Dataflow job."
}

variable "name" {
  type        = string
  description = "Cloud Scheduler job name."
  default     = "footfall-seal"
}

variable "description" {
  type        = string
  description = "Cloud Scheduler job description."
  default     = "Launches the backfill flex template to seal the hours that have closed."
}

variable "schedule" {
  type        = string
  description = "Cron schedule (in time_zone). Hourly by default, a few minutes past the hour so the previous hour has closed."
  default     = "10 * * * *"
}

variable "time_zone" {
  type        = string
  description = "Time zone of schedule."
  default     = "Etc/UTC"
}

variable "paused" {
  type        = bool
  description = "Create the scheduler job paused."
  default     = false
}

variable "service_account_email" {
  type        = string
  description = "Account whose OAuth token authorises the launch call (needs roles/dataflow.developer and actAs on the worker account)."
}

variable "template_gcs_path" {
  type        = string
  description = "gs:// path of the backfill flex-template spec."
}

variable "job_name" {
  type        = string
  description = "Name of the launched Dataflow job. Dataflow refuses to launch a job while one of the same name is still running, so seals never overlap."
  default     = "footfall-seal"

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]*[a-z0-9])?$", var.job_name))
    error_message = "job_name must be lowercase letters, digits and '-', starting with a letter."
  }
}

variable "parameters" {
  type        = map(string)
  description = "Template parameters (the backfill command's flags without the dashes), e.g. { \"seal-closed-hours\" = \"true\" }. Each must be declared in pipelines/templates/backfill-metadata.json."
  default     = {}
}

variable "worker_service_account_email" {
  type        = string
  description = "Account the launched job's workers run as."
}

variable "temp_location" {
  type        = string
  description = "Dataflow temp location (gs://)."
}

variable "staging_location" {
  type        = string
  description = "Dataflow staging location (gs://)."
}

variable "max_workers" {
  type        = number
  description = "Upper bound on the launched job's workers."
  default     = 10
}

variable "machine_type" {
  type        = string
  description = "Worker machine type; null is Dataflow's default."
  default     = null
}

variable "network" {
  type        = string
  description = "VPC network for the workers; null uses \"default\"."
  default     = null
}

variable "subnetwork" {
  type        = string
  description = "Subnetwork for the workers; null lets Dataflow choose."
  default     = null
}

variable "ip_configuration" {
  type        = string
  description = "WORKER_IP_PRIVATE or WORKER_IP_PUBLIC; null is Dataflow's default."
  default     = null
}

variable "additional_experiments" {
  type        = list(string)
  description = "Dataflow experiments for the launched job."
  default     = []
}

variable "attempt_deadline" {
  type        = string
  description = "How long one launch call may take."
  default     = "180s"
}

variable "retry_count" {
  type        = number
  description = "Retries of a failed launch call within one schedule slot."
  default     = 3
}
