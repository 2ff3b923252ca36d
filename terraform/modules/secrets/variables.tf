variable "project_id" {
  type        = string
  description = "Project that owns the secret."
}

variable "secret_id" {
  type        = string
  description = "Secret holding the merchant key file (docs/keys.md), mounted by the services at KEYS_FILE."
  default     = "footfall-keys"
}

variable "accessors" {
  type        = map(string)
  description = "IAM members that may read the secret's versions, keyed by a static name (e.g. { ingest = \"serviceAccount:...\" }) so that members computed during apply still plan."
  default     = {}
}

variable "replica_locations" {
  type        = list(string)
  description = "Regions to keep the secret in; empty lets Google choose (automatic replication)."
  default     = []
}

variable "labels" {
  type        = map(string)
  description = "Labels set on the secret."
  default     = {}
}
