variable "project_id" {
  type        = string
  description = "GCP project of this environment."
}

variable "region" {
  type        = string
  description = "Region of Cloud Run, Dataflow, Pub/Sub-adjacent resources, the image repository and the Bigtable clusters' zones."
  default     = "us-central1"
}

variable "bigquery_location" {
  type        = string
  description = "Location of the archive dataset."
  default     = "US"
}

variable "image_tag" {
  type        = string
  description = "Tag of the images and of the streaming flex-template spec to deploy (cloudbuild.yaml's _TAG, e.g. the commit SHA)."
}

variable "ingest_image" {
  type        = string
  description = "Full ingest image reference; null uses <repository>/ingest:<image_tag>."
  default     = null
}

variable "queryapi_image" {
  type        = string
  description = "Full queryapi image reference; null uses <repository>/queryapi:<image_tag>."
  default     = null
}

variable "sealer_image" {
  type        = string
  description = "Full image of the sealer's Cloud Run job; null uses <repository>/pipelines-backfill:<image_tag>."
  default     = null
}

variable "launch_streaming_job" {
  type        = bool
  description = "Launch the streaming Dataflow job (false until its flex template is built)."
  default     = true
}

variable "ingest_invokers" {
  type        = list(string)
  description = "Who may call ingest at the Cloud Run layer. Merchants' sites and SDKs call it, so allUsers; ingest checks write keys itself."
  default     = ["allUsers"]
}

variable "queryapi_invokers" {
  type        = list(string)
  description = "Who may call the query API at the Cloud Run layer (e.g. the dashboard backend's service account, developers). They send their Google ID token in X-Serverless-Authorization and the merchant read key in Authorization."
  default     = []
}

variable "ingest_extra_env" {
  type        = map(string)
  description = "More ingest environment variables (names from ingest/config.go), e.g. rate limits."
  default     = {}
}

variable "queryapi_extra_env" {
  type        = map(string)
  description = "More query API environment variables (names from queryapi/config.go)."
  default     = {}
}

variable "streaming_extra_parameters" {
  type        = map(string)
  description = "More streaming job flags (name => value), declared in pipelines/templates/streaming-metadata.json."
  default     = {}
}

variable "seal_schedule_enabled" {
  type        = bool
  description = "Run the hourly seal pass (the sealer Cloud Run job). Keep false until the pipelines-backfill image has been built for image_tag."
  default     = true
}

variable "sealer_extra_flags" {
  type        = map(string)
  description = "More flags of every sealer run (pipelines/cmd/backfill flags and Beam's Dataflow options, without dashes), e.g. { merchant-shards = \"4\" }."
  default     = {}
}

variable "notification_channels" {
  type        = list(string)
  description = "Cloud Monitoring notification channel ids the alerts notify."
  default     = []
}
