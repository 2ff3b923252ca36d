variable "project_id" {
  type        = string
  description = "Project the service runs in."
}

variable "region" {
  type        = string
  description = "Cloud Run region."
}

variable "name" {
  type        = string
  description = "Service name (also the service_name label in Cloud Monitoring)."
}

variable "image" {
  type        = string
  description = "Container image, preferably pinned by digest (REGION-docker.pkg.dev/P/REPO/NAME@sha256:...)."
}

variable "service_account_email" {
  type        = string
  description = "Identity the service runs as: give each service its own, with only the roles it needs."
}

variable "env" {
  type        = map(string)
  description = "Plain environment variables. The names are the service's contract (ingest/config.go, queryapi/config.go); PORT is set by Cloud Run."
  default     = {}

  validation {
    condition     = !contains(keys(var.env), "PORT")
    error_message = "PORT is reserved: Cloud Run sets it."
  }
}

variable "secret_env" {
  type = map(object({
    secret  = string
    version = optional(string, "latest")
  }))
  description = "Environment variables read from Secret Manager: name => {secret id, version}."
  default     = {}
}

variable "secret_files" {
  type = list(object({
    secret  = string
    version = optional(string, "latest")
    path    = string
  }))
  description = "Secret Manager secrets mounted as files, e.g. {secret = \"footfall-keys\", path = \"/secrets/keys.json\"}. Each file gets its own directory (Cloud Run mounts a volume per directory)."
  default     = []

  validation {
    condition     = alltrue([for f in var.secret_files : can(regex("^/[^/]+(/[^/]+)*/[^/]+$", f.path))])
    error_message = "Each secret file path must be absolute and below a directory, e.g. /secrets/keys.json."
  }

  validation {
    condition     = length(distinct([for f in var.secret_files : try(regex("^(.*)/[^/]+$", f.path)[0], f.path)])) == length(var.secret_files)
    error_message = "Put each secret file in its own directory."
  }
}

variable "container_port" {
  type        = number
  description = "Port the container listens on (Cloud Run passes it as PORT)."
  default     = 8080
}

variable "health_path" {
  type        = string
  description = "HTTP path for the startup and liveness probes."
  default     = "/healthz"
}

variable "min_instances" {
  type        = number
  description = "Instances kept warm (0 scales to zero; above 0 avoids cold starts)."
  default     = 0
}

variable "max_instances" {
  type        = number
  description = "Upper bound on instances."
  default     = 10

  validation {
    condition     = var.max_instances >= 1
    error_message = "max_instances must be at least 1."
  }
}

variable "concurrency" {
  type        = number
  description = "Concurrent requests per instance."
  default     = 80

  validation {
    condition     = var.concurrency >= 1 && var.concurrency <= 1000
    error_message = "concurrency must be between 1 and 1000."
  }
}

variable "cpu" {
  type        = string
  description = "CPU limit per instance (\"1\", \"2\", \"4\", ...)."
  default     = "1"
}

variable "memory" {
  type        = string
  description = "Memory limit per instance (\"512Mi\", \"1Gi\", ...)."
  default     = "512Mi"
}

variable "cpu_idle" {
  type        = bool
  description = "Allocate CPU only while requests are in flight (cheaper; background work between requests is throttled)."
  default     = true
}

variable "timeout" {
  type        = string
  description = "Request timeout."
  default     = "30s"
}

variable "ingress" {
  type        = string
  description = "Who can reach the service over the network: INGRESS_TRAFFIC_ALL, INGRESS_TRAFFIC_INTERNAL_ONLY or INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER."
  default     = "INGRESS_TRAFFIC_ALL"

  validation {
    condition     = contains(["INGRESS_TRAFFIC_ALL", "INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"], var.ingress)
    error_message = "ingress must be INGRESS_TRAFFIC_ALL, INGRESS_TRAFFIC_INTERNAL_ONLY or INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER."
  }
}

variable "invokers" {
  type        = list(string)
  description = "IAM members granted roles/run.invoker: \"allUsers\" for a public API that authenticates requests itself (ingest), specific members otherwise. Values must be known at plan time."
  default     = []
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to destroy the service."
  default     = false
}

variable "labels" {
  type        = map(string)
  description = "Labels set on the service."
  default     = {}
}
