# Pub/Sub for the event path: ingest publishes to the events topic, the
# streaming pipeline reads the events-pipeline subscription.
#
# The subscription has no dead-letter and no retry policy: Dataflow's
# Pub/Sub source does not support them (it acknowledges a message once it
# has durably committed it, and Pub/Sub would otherwise count deliveries of
# messages Dataflow holds and dead-letter healthy ones; see
# https://cloud.google.com/dataflow/docs/concepts/streaming-with-cloud-pubsub).
# Messages the pipeline cannot archive go to the BigQuery dead-letter table
# instead (pipelines/io/bqarchive, alert in modules/monitoring).

resource "google_pubsub_topic" "events" {
  project                    = var.project_id
  name                       = var.topic_name
  message_retention_duration = var.topic_message_retention
  labels                     = var.labels
}

resource "google_pubsub_subscription" "pipeline" {
  project = var.project_id
  name    = var.subscription_name
  topic   = google_pubsub_topic.events.id
  labels  = var.labels

  ack_deadline_seconds       = var.ack_deadline_seconds
  message_retention_duration = var.subscription_message_retention
  retain_acked_messages      = false

  # Never delete the subscription for inactivity: the pipeline may be
  # stopped for longer than the default 31 days.
  expiration_policy {
    ttl = ""
  }
}
