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
  description = "Tag of the ingest and queryapi images and of the flex-template specs to deploy (cloudbuild.yaml's _TAG, e.g. the commit SHA)."
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

variable "keys_secret_version" {
  type        = string
  description = "Version of the footfall-keys secret the services mount: \"latest\", or a number to roll the services onto a new key file deliberately."
  default     = "latest"
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
  description = "Run the hourly seal. Keep false until the backfill flex template (pipelines/cmd/backfill) has been built for image_tag."
  default     = true
}

variable "seal_parameters" {
  type        = map(string)
  description = "More flags of the hourly backfill (seal) launch, e.g. { grace = \"5m\" }, each declared in pipelines/templates/backfill-metadata.json; seal-closed-hours, source and the Bigtable names are set already."
  default     = {}
}

variable "dataflow_subnetwork" {
  type        = string
  description = "Subnetwork for Dataflow workers (regions/R/subnetworks/S); null lets Dataflow use the default network."
  default     = null
}

variable "notification_channels" {
  type        = list(string)
  description = "Cloud Monitoring notification channel ids the alerts notify."
  default     = []
}
