# Alerts on the event path, from the outside in: is ingest failing, is the
# pipeline keeping up with Pub/Sub, is the streaming job's output fresh, do
# dashboards get answers quickly, did anything land in the dead letters, did
# a seal pass fail.

locals {
  run_filter = "resource.type = \"cloud_run_revision\""
}

resource "google_monitoring_alert_policy" "pubsub_backlog" {
  project               = var.project_id
  display_name          = "footfall: events waiting in ${var.pubsub_subscription_name}"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = var.user_labels

  conditions {
    display_name = "Oldest unacked message older than ${var.pubsub_oldest_unacked_seconds}s"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${var.pubsub_subscription_name}\" AND metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.pubsub_oldest_unacked_seconds
      duration        = var.condition_duration

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The streaming job is not consuming `${var.pubsub_subscription_name}` fast enough (or not at all). Check that the Dataflow job `${var.dataflow_job_name}` is running and scaling (max workers, quota). Events are safe in Pub/Sub for the subscription's retention; metrics are stale meanwhile."
  }
}

resource "google_monitoring_alert_policy" "dataflow_lag" {
  project               = var.project_id
  display_name          = "footfall: streaming job ${var.dataflow_job_name} is behind"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = var.user_labels

  conditions {
    display_name = "Data freshness above ${var.dataflow_data_freshness_seconds}s"
    condition_threshold {
      filter          = "resource.type = \"dataflow_job\" AND resource.labels.job_name = \"${var.dataflow_job_name}\" AND metric.type = \"dataflow.googleapis.com/job/data_watermark_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.dataflow_data_freshness_seconds
      duration        = var.condition_duration

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  conditions {
    display_name = "System lag above ${var.dataflow_system_lag_seconds}s"
    condition_threshold {
      filter          = "resource.type = \"dataflow_job\" AND resource.labels.job_name = \"${var.dataflow_job_name}\" AND metric.type = \"dataflow.googleapis.com/job/system_lag\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.dataflow_system_lag_seconds
      duration        = var.condition_duration

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The streaming job's output is falling behind event time. Look at the job's autoscaling, worker errors and Bigtable CPU. A job that is not running emits no metrics: the Pub/Sub backlog alert covers that case."
  }
}

resource "google_monitoring_alert_policy" "ingest_errors" {
  project               = var.project_id
  display_name          = "footfall: ingest 5xx ratio above ${var.ingest_5xx_ratio}"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = var.user_labels

  conditions {
    display_name = "5xx / all requests of ${var.ingest_service_name}"
    condition_threshold {
      filter             = "${local.run_filter} AND resource.labels.service_name = \"${var.ingest_service_name}\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      denominator_filter = "${local.run_filter} AND resource.labels.service_name = \"${var.ingest_service_name}\" AND metric.type = \"run.googleapis.com/request_count\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.ingest_5xx_ratio
      duration           = var.condition_duration

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }

      denominator_aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Ingest answers 5xx: 503 means Pub/Sub did not acknowledge publishes in time (senders retry), 500 is a bug. Check ingest logs and Pub/Sub publish latency and quota."
  }
}

resource "google_monitoring_alert_policy" "queryapi_latency" {
  project               = var.project_id
  display_name          = "footfall: query API p99 latency above ${var.queryapi_p99_latency_ms}ms"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = var.user_labels

  conditions {
    display_name = "p99 request latency of ${var.queryapi_service_name}"
    condition_threshold {
      filter          = "${local.run_filter} AND resource.labels.service_name = \"${var.queryapi_service_name}\" AND metric.type = \"run.googleapis.com/request_latencies\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.queryapi_p99_latency_ms
      duration        = var.condition_duration

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_PERCENTILE_99"
        group_by_fields      = ["resource.label.service_name"]
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "Dashboards wait on the query API. Check Bigtable CPU and latency (the autoscaler's max nodes), query API instance count and cold starts."
  }
}

# The streaming job counts every message it dead-letters (undecodable, or a
# row BigQuery rejected) in the Beam counter archive_dead_letters, which
# Dataflow exports as the user counter metric.
resource "google_monitoring_alert_policy" "dead_letters" {
  project               = var.project_id
  display_name          = "footfall: events dead-lettered by ${var.dataflow_job_name}"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = var.user_labels

  conditions {
    display_name = "${var.dead_letter_counter} increased"
    condition_threshold {
      filter          = "resource.type = \"dataflow_job\" AND resource.labels.job_name = \"${var.dataflow_job_name}\" AND metric.type = \"dataflow.googleapis.com/job/user_counter\" AND metric.labels.metric_name = \"${var.dead_letter_counter}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.job_name"]
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "The streaming job could not archive some messages as they were and wrote them to the `${var.dead_letter_table}` table (reason and raw payload; a row BigQuery rejected is archived again without its properties). Inspect them (docs/deploy.md, \"Dead letters\"), fix the cause, then republish the payloads to the events topic."
  }
}

# A seal pass that fails (a Dataflow job failed, Bigtable or BigQuery
# refused) leaves its hours unsealed; the next pass retries them.
resource "google_monitoring_alert_policy" "sealer_failed" {
  project               = var.project_id
  display_name          = "footfall: seal pass ${var.sealer_job_name} failed"
  combiner              = "OR"
  notification_channels = var.notification_channels
  user_labels           = var.user_labels

  conditions {
    display_name = "Failed executions of ${var.sealer_job_name}"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_job\" AND resource.labels.job_name = \"${var.sealer_job_name}\" AND metric.type = \"run.googleapis.com/job/completed_execution_count\" AND metric.labels.result = \"failed\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"

      aggregations {
        alignment_period     = "3600s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.job_name"]
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    content   = "A seal pass failed: the hours it was sealing stay unsealed (the API serves their provisional values) and the next hourly pass tries again. Read the execution's logs (`gcloud run jobs executions list --job ${var.sealer_job_name}`), and the failed Dataflow job's if the log names one."
  }
}
