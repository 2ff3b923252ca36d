mock_provider "google" {
  mock_data "google_project" {
    defaults = {
      number = "123456789012"
    }
  }
}

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

run "subscription_has_a_dead_letter_policy" {
  command = plan

  assert {
    condition     = length(google_pubsub_subscription.pipeline.dead_letter_policy) == 1
    error_message = "the pipeline subscription must have a dead-letter policy."
  }

  assert {
    condition     = google_pubsub_subscription.pipeline.dead_letter_policy[0].max_delivery_attempts == 10
    error_message = "max delivery attempts defaults to 10."
  }

  assert {
    condition     = google_pubsub_subscription.pipeline.expiration_policy[0].ttl == ""
    error_message = "the pipeline subscription must never expire."
  }

  assert {
    condition     = google_pubsub_subscription.dead_letter.expiration_policy[0].ttl == ""
    error_message = "the dead-letter subscription must never expire."
  }
}

run "service_agent_may_forward_dead_letters" {
  command = plan

  assert {
    condition     = google_pubsub_topic_iam_member.agent_publishes_dead_letters.member == "serviceAccount:service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com"
    error_message = "the Pub/Sub service agent must publish to the dead-letter topic."
  }

  assert {
    condition     = google_pubsub_topic_iam_member.agent_publishes_dead_letters.role == "roles/pubsub.publisher"
    error_message = "the service agent needs roles/pubsub.publisher on the dead-letter topic."
  }

  assert {
    condition     = google_pubsub_subscription_iam_member.agent_forwards_from_pipeline.role == "roles/pubsub.subscriber"
    error_message = "the service agent needs roles/pubsub.subscriber on the pipeline subscription."
  }
}

run "max_delivery_attempts_is_bounded" {
  command = plan

  variables {
    max_delivery_attempts = 3
  }

  expect_failures = [var.max_delivery_attempts]
}
