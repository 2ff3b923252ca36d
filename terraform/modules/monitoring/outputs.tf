output "policy_ids" {
  description = "Alert policy ids by purpose."
  value = merge(
    {
      pubsub_backlog   = google_monitoring_alert_policy.pubsub_backlog.id
      dataflow_lag     = google_monitoring_alert_policy.dataflow_lag.id
      ingest_errors    = google_monitoring_alert_policy.ingest_errors.id
      queryapi_latency = google_monitoring_alert_policy.queryapi_latency.id
      dead_letters     = google_monitoring_alert_policy.dead_letters.id
      sealer_failed    = google_monitoring_alert_policy.sealer_failed.id
    },
  )
}

output "thresholds" {
  description = "The thresholds in force, by policy."
  value = {
    pubsub_oldest_unacked_seconds   = var.pubsub_oldest_unacked_seconds
    dataflow_data_freshness_seconds = var.dataflow_data_freshness_seconds
    dataflow_system_lag_seconds     = var.dataflow_system_lag_seconds
    ingest_5xx_ratio                = var.ingest_5xx_ratio
    queryapi_p99_latency_ms         = var.queryapi_p99_latency_ms
  }
}
