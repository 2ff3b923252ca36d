variable "project_id" {
  type        = string
  description = "Project of the network."
}

variable "region" {
  type        = string
  description = "Region of the Dataflow subnetwork (the jobs' region)."
}

variable "name" {
  type        = string
  description = "Network name; the subnetwork and firewall rule are named after it."
  default     = "footfall"
}

variable "dataflow_cidr" {
  type        = string
  description = "Primary range of the Dataflow subnetwork: one address per worker (a /20 holds 4,000)."
  default     = "10.10.0.0/20"

  validation {
    condition     = can(cidrhost(var.dataflow_cidr, 0))
    error_message = "dataflow_cidr must be a CIDR range, e.g. 10.10.0.0/20."
  }
}
