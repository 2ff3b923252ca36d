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

output "dead_letter_topic_id" {
  description = "Full id of the dead-letter topic."
  value       = google_pubsub_topic.dead_letter.id
}

output "dead_letter_subscription_name" {
  description = "Short name of the subscription that keeps dead-lettered messages."
  value       = google_pubsub_subscription.dead_letter.name
}

output "pubsub_service_agent" {
  description = "IAM member of the project's Pub/Sub service agent, which forwards dead letters."
  value       = local.pubsub_service_agent
}
