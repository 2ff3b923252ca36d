variable "project_id" {
  type        = string
  description = "Project that owns the topics and subscriptions."
}

variable "topic_name" {
  type        = string
  description = "Topic ingest publishes accepted events to (ingest's PUBSUB_TOPIC)."
  default     = "events"
}

variable "subscription_name" {
  type        = string
  description = "The streaming pipeline's subscription to topic_name (its --subscription flag)."
  default     = "events-pipeline"
}

variable "topic_message_retention" {
  type        = string
  description = "How long the topics keep every message, acknowledged or not, so a subscription can be seeked back to replay the stream (10m to 31 days). Billed as message storage (about $5 per billion 600-byte events per day kept; docs/deploy.md); the BigQuery archive is the long-term copy."
  default     = "86400s"
}

variable "ack_deadline_seconds" {
  type        = number
  description = "Acknowledgement deadline of the pipeline subscription, in seconds (Dataflow extends it while it works)."
  default     = 60

  validation {
    condition     = var.ack_deadline_seconds >= 10 && var.ack_deadline_seconds <= 600
    error_message = "ack_deadline_seconds must be between 10 and 600."
  }
}

variable "subscription_message_retention" {
  type        = string
  description = "How long the subscription keeps unacknowledged messages (10m to 7 days): how long the pipeline may be down without losing events."
  default     = "604800s"
}

variable "labels" {
  type        = map(string)
  description = "Labels set on every resource."
  default     = {}
}
