variable "project_id" {
  type        = string
  description = "Project that owns the repository."
}

variable "location" {
  type        = string
  description = "Repository location (the region the services and jobs run in)."
}

variable "repository_id" {
  type        = string
  description = "Docker repository for the ingest, queryapi and pipeline launcher images (cloudbuild.yaml's _REPOSITORY)."
  default     = "footfall"
}

variable "keep_recent_versions" {
  type        = number
  description = "Image versions kept per image by the cleanup policy; older untagged ones are deleted."
  default     = 20
}

variable "labels" {
  type        = map(string)
  description = "Labels set on the repository."
  default     = {}
}
