mock_provider "google" {}

variables {
  project_id               = "footfall-test"
  notification_channels    = ["projects/footfall-test/notificationChannels/123"]
  pubsub_subscription_name = "events-pipeline"
  sealer_job_name          = "footfall-sealer"
  dataflow_job_name        = "footfall-streaming"
  ingest_service_name      = "ingest"
  queryapi_service_name    = "queryapi"
}

run "pubsub_backlog_age" {
  command = plan

  assert {
    condition     = strcontains(google_monitoring_alert_policy.pubsub_backlog.conditions[0].condition_threshold[0].filter, "pubsub.googleapis.com/subscription/oldest_unacked_message_age")
    error_message = "the backlog alert watches the oldest unacked message age."
  }

  assert {
    condition     = strcontains(google_monitoring_alert_policy.pubsub_backlog.conditions[0].condition_threshold[0].filter, "resource.labels.subscription_id = \"events-pipeline\"")
    error_message = "the backlog alert watches the pipeline subscription."
  }

  assert {
    condition     = google_monitoring_alert_policy.pubsub_backlog.conditions[0].condition_threshold[0].threshold_value == 600
    error_message = "the backlog threshold is the variable."
  }

  assert {
    condition     = google_monitoring_alert_policy.pubsub_backlog.notification_channels == tolist(["projects/footfall-test/notificationChannels/123"])
    error_message = "policies notify the given channels."
  }
}

run "dataflow_freshness_and_lag" {
  command = plan

  variables {
    dataflow_data_freshness_seconds = 300
    dataflow_system_lag_seconds     = 120
  }

  assert {
    condition     = length(google_monitoring_alert_policy.dataflow_lag.conditions) == 2 && google_monitoring_alert_policy.dataflow_lag.combiner == "OR"
    error_message = "either data freshness or system lag fires the Dataflow alert."
  }

  assert {
    condition = (
      strcontains(google_monitoring_alert_policy.dataflow_lag.conditions[0].condition_threshold[0].filter, "dataflow.googleapis.com/job/data_watermark_age") &&
      google_monitoring_alert_policy.dataflow_lag.conditions[0].condition_threshold[0].threshold_value == 300
    )
    error_message = "data freshness (watermark age) is watched against its threshold."
  }

  assert {
    condition = (
      strcontains(google_monitoring_alert_policy.dataflow_lag.conditions[1].condition_threshold[0].filter, "dataflow.googleapis.com/job/system_lag") &&
      google_monitoring_alert_policy.dataflow_lag.conditions[1].condition_threshold[0].threshold_value == 120
    )
    error_message = "system lag is watched against its threshold."
  }

  assert {
    condition     = strcontains(google_monitoring_alert_policy.dataflow_lag.conditions[0].condition_threshold[0].filter, "resource.labels.job_name = \"footfall-streaming\"")
    error_message = "the Dataflow alert watches the streaming job."
  }
}

run "ingest_5xx_ratio" {
  command = plan

  assert {
    condition     = strcontains(google_monitoring_alert_policy.ingest_errors.conditions[0].condition_threshold[0].filter, "metric.labels.response_code_class = \"5xx\"")
    error_message = "the numerator counts 5xx responses."
  }

  assert {
    condition     = !strcontains(google_monitoring_alert_policy.ingest_errors.conditions[0].condition_threshold[0].denominator_filter, "response_code_class")
    error_message = "the denominator counts all responses."
  }

  assert {
    condition     = strcontains(google_monitoring_alert_policy.ingest_errors.conditions[0].condition_threshold[0].filter, "resource.labels.service_name = \"ingest\"")
    error_message = "the ratio is ingest's."
  }

  assert {
    condition     = google_monitoring_alert_policy.ingest_errors.conditions[0].condition_threshold[0].threshold_value == 0.05
    error_message = "the ratio threshold is the variable."
  }
}

run "queryapi_p99_latency" {
  command = plan

  assert {
    condition = (
      strcontains(google_monitoring_alert_policy.queryapi_latency.conditions[0].condition_threshold[0].filter, "run.googleapis.com/request_latencies") &&
      strcontains(google_monitoring_alert_policy.queryapi_latency.conditions[0].condition_threshold[0].filter, "resource.labels.service_name = \"queryapi\"")
    )
    error_message = "the latency alert watches queryapi's request latencies."
  }

  assert {
    condition     = google_monitoring_alert_policy.queryapi_latency.conditions[0].condition_threshold[0].aggregations[0].cross_series_reducer == "REDUCE_PERCENTILE_99"
    error_message = "the latency alert is on the 99th percentile."
  }

  assert {
    condition     = google_monitoring_alert_policy.queryapi_latency.conditions[0].condition_threshold[0].threshold_value == 1000
    error_message = "the latency threshold is the variable (ms)."
  }
}

run "dead_letters_and_failed_seals_alert" {
  command = plan

  assert {
    condition     = strcontains(google_monitoring_alert_policy.dead_letters.conditions[0].condition_threshold[0].filter, "metric.labels.metric_name = \"archive_dead_letters\"")
    error_message = "the dead-letter alert watches the streaming job's archive_dead_letters counter."
  }

  assert {
    condition     = strcontains(google_monitoring_alert_policy.sealer_failed.conditions[0].condition_threshold[0].filter, "resource.labels.job_name = \"footfall-sealer\"") && strcontains(google_monitoring_alert_policy.sealer_failed.conditions[0].condition_threshold[0].filter, "metric.labels.result = \"failed\"")
    error_message = "a failed seal pass alerts."
  }
}

run "ratio_must_be_a_fraction" {
  command = plan

  variables {
    ingest_5xx_ratio = 5
  }

  expect_failures = [var.ingest_5xx_ratio]
}
