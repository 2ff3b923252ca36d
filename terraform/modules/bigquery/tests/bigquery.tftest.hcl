mock_provider "google" {}

variables {
  project_id = "footfall-test"
}

run "archive_table_is_partitioned_and_clustered" {
  command = plan

  assert {
    condition     = google_bigquery_dataset.this.dataset_id == "footfall" && google_bigquery_table.events.table_id == "events"
    error_message = "the archive is footfall.events."
  }

  assert {
    condition     = google_bigquery_table.events.time_partitioning[0].type == "DAY"
    error_message = "the archive is partitioned by day."
  }

  assert {
    condition     = google_bigquery_table.events.time_partitioning[0].field == "event_time"
    error_message = "the archive is partitioned on event_time."
  }

  assert {
    condition     = google_bigquery_table.events.clustering == tolist(["event_time"])
    error_message = "the archive is clustered by merchant_id."
  }

  assert {
    condition     = google_bigquery_table.events.require_partition_filter == true
    error_message = "queries must filter on event_time by default."
  }

  assert {
    condition     = google_bigquery_table.events.deletion_protection == true
    error_message = "the archive is protected by default."
  }
}

run "schema_comes_from_the_event_contract" {
  command = plan

  assert {
    condition     = { for f in jsondecode(google_bigquery_table.events.schema) : f.name => "${f.type}/${f.mode}" }["event_time"] == "TIMESTAMP/REQUIRED"
    error_message = "event_time is a required TIMESTAMP (partitioning column)."
  }

  assert {
    condition     = { for f in jsondecode(google_bigquery_table.events.schema) : f.name => "${f.type}/${f.mode}" }["merchant_id"] == "STRING/REQUIRED"
    error_message = "merchant_id is a required STRING."
  }

  assert {
    condition     = { for f in jsondecode(google_bigquery_table.events.schema) : f.name => "${f.type}/${f.mode}" }["properties"] == "JSON/NULLABLE"
    error_message = "properties is nullable JSON."
  }

  assert {
    condition     = { for f in jsondecode(google_bigquery_table.events.schema) : f.name => "${f.type}/${f.mode}" }["revenue_minor"] == "INTEGER/NULLABLE"
    error_message = "revenue_minor is a nullable INTEGER."
  }

  assert {
    condition     = length(jsondecode(google_bigquery_table.events.schema)) == 27
    error_message = "the schema has one column per event.Event field (27)."
  }
}

run "partition_expiry_is_configurable" {
  command = plan

  variables {
    partition_expiration_days = 400
  }

  assert {
    condition     = google_bigquery_table.events.time_partitioning[0].expiration_ms == 400 * 86400000
    error_message = "partition_expiration_days converts to milliseconds."
  }
}

run "partition_expiry_must_be_positive" {
  command = plan

  variables {
    partition_expiration_days = 0
  }

  expect_failures = [var.partition_expiration_days]
}

run "side_tables_beside_the_archive" {
  command = plan

  assert {
    condition     = google_bigquery_table.appends.table_id == "events_appends" && google_bigquery_table.dead_letters.table_id == "events_dead_letters"
    error_message = "the appends and dead-letter tables are named after the archive (bqarchive.AppendsSuffix, DeadLettersSuffix)."
  }

  assert {
    condition     = google_bigquery_table.appends.time_partitioning[0].field == "appended_at" && google_bigquery_table.appends.time_partitioning[0].expiration_ms == 14 * 86400000
    error_message = "appends are partitioned by append time and kept two weeks."
  }

  assert {
    condition     = { for f in jsondecode(google_bigquery_table.dead_letters.schema) : f.name => f.type }["payload"] == "BYTES"
    error_message = "dead letters keep the raw payload as bytes."
  }
}
