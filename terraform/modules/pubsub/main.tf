# Pub/Sub for the event path: ingest publishes to the events topic, the
# streaming pipeline reads the events-pipeline subscription. A message the
# pipeline fails to acknowledge max_delivery_attempts times moves to the
# dead-letter topic, whose own subscription keeps it for replay.
#
# Dataflow's Pub/Sub reader extends ack deadlines while it works and acks
# only after it has committed a message, so delivery attempts pile up only
# when the job keeps failing on a message; events that fail validation are
# set aside inside the pipeline, not here.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  # Pub/Sub's service agent forwards dead letters: it must publish to the
  # dead-letter topic and subscribe to (acknowledge on) the source subscription.
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_pubsub_topic" "events" {
  project                    = var.project_id
  name                       = var.topic_name
  message_retention_duration = var.topic_message_retention
  labels                     = var.labels
}

resource "google_pubsub_topic" "dead_letter" {
  project                    = var.project_id
  name                       = var.dead_letter_topic_name
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

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  retry_policy {
    minimum_backoff = var.minimum_backoff
    maximum_backoff = var.maximum_backoff
  }
}

resource "google_pubsub_subscription" "dead_letter" {
  project = var.project_id
  name    = var.dead_letter_subscription_name
  topic   = google_pubsub_topic.dead_letter.id
  labels  = var.labels

  ack_deadline_seconds       = 60
  message_retention_duration = var.subscription_message_retention

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_topic_iam_member" "agent_publishes_dead_letters" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_service_agent
}

resource "google_pubsub_subscription_iam_member" "agent_forwards_from_pipeline" {
  project      = var.project_id
  subscription = google_pubsub_subscription.pipeline.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_service_agent
}
