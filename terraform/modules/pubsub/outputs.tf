output "topic_id" {
  description = "Full id of the events topic (projects/P/topics/T)."
  value       = google_pubsub_topic.events.id
}

output "topic_name" {
  description = "Short name of the events topic (ingest's PUBSUB_TOPIC)."
  value       = google_pubsub_topic.events.name
}

output "subscription_id" {
  description = "Full id of the pipeline subscription (projects/P/subscriptions/S)."
  value       = google_pubsub_subscription.pipeline.id
}

output "subscription_name" {
  description = "Short name of the pipeline subscription (the streaming job's --subscription; the subscription_id label in Cloud Monitoring)."
  value       = google_pubsub_subscription.pipeline.name
}
