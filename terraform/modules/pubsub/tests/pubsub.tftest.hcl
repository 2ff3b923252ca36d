mock_provider "google" {}

variables {
  project_id = "footfall-test"
}

run "names_match_the_code" {
  command = plan

  assert {
    condition     = google_pubsub_topic.events.name == "events"
    error_message = "ingest publishes to the topic \"events\" (PUBSUB_TOPIC default)."
  }

  assert {
    condition     = google_pubsub_subscription.pipeline.name == "events-pipeline"
    error_message = "the streaming job reads the subscription \"events-pipeline\"."
  }

  assert {
    condition     = google_pubsub_subscription.pipeline.ack_deadline_seconds == 60
    error_message = "the pipeline subscription's ack deadline is 60s."
  }

  assert {
    condition     = google_pubsub_topic.events.message_retention_duration == "86400s"
    error_message = "the events topic keeps a day of messages for replay."
  }
}

run "no_dead_letter_or_retry_policy_on_dataflows_subscription" {
  command = plan

  assert {
    condition     = length(google_pubsub_subscription.pipeline.dead_letter_policy) == 0 && length(google_pubsub_subscription.pipeline.retry_policy) == 0
    error_message = "Dataflow does not support dead-letter or retry policies on the subscription it reads."
  }

  assert {
    condition     = google_pubsub_subscription.pipeline.expiration_policy[0].ttl == ""
    error_message = "the pipeline subscription must never expire."
  }
}
