variable "project_id" {
  type        = string
  description = "Project that owns the Bigtable instance."
}

variable "instance_name" {
  type        = string
  description = "Bigtable instance id (the services' BIGTABLE_INSTANCE, the pipeline's --bigtable-instance)."
  default     = "footfall"
}

variable "display_name" {
  type        = string
  description = "Human-readable instance name; null uses instance_name."
  default     = null
}

variable "clusters" {
  type = list(object({
    cluster_id   = string
    zone         = string
    min_nodes    = number
    max_nodes    = number
    cpu_target   = number
    storage_type = optional(string, "SSD")
  }))
  description = <<-EOT
    Clusters of the instance, each autoscaled between min_nodes and max_nodes
    to hold CPU near cpu_target (percent). One cluster for dev; a second one
    in another zone of the region (or another region) makes the instance
    replicated, and the app profile then routes to any healthy cluster.
  EOT

  validation {
    condition     = length(var.clusters) >= 1 && length(var.clusters) <= 8
    error_message = "Give between 1 and 8 clusters."
  }

  validation {
    condition     = alltrue([for c in var.clusters : c.min_nodes >= 1 && c.max_nodes >= c.min_nodes])
    error_message = "Each cluster needs 1 <= min_nodes <= max_nodes."
  }

  validation {
    condition     = alltrue([for c in var.clusters : c.cpu_target >= 10 && c.cpu_target <= 80])
    error_message = "cpu_target is a percentage between 10 and 80."
  }

  validation {
    condition     = length(distinct([for c in var.clusters : c.zone])) == length(var.clusters)
    error_message = "Put each cluster in a different zone."
  }
}

variable "single_cluster_id" {
  type        = string
  description = "Cluster the single-cluster app profiles (streaming, sealer) route to; null is the first cluster. To fail the writers over after a zone outage, set it to another cluster and apply."
  default     = null
}

variable "keys_table" {
  type        = string
  description = "Table of the merchant key store (internal/keys.Table)."
  default     = "keys"
}

variable "keys_family" {
  type        = string
  description = "Column family of the merchant key store (internal/keys.Family)."
  default     = "k"
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to destroy the instance and its tables (turn on in production)."
  default     = true
}

variable "labels" {
  type        = map(string)
  description = "Labels set on the instance."
  default     = {}
}
