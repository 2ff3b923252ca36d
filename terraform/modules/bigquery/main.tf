# The raw-event archive: every accepted event, partitioned by the day of its
# event time and clustered by merchant, so a backfill of one merchant's hours
# reads only those days and that merchant's blocks.
#
# events_schema.json is generated from internal/event.Event (parquet tags);
# a Go test fails when they drift. Regenerate, never edit by hand:
#   go run ./internal/event/cmd/bqschema > terraform/modules/bigquery/events_schema.json

resource "google_bigquery_dataset" "this" {
  project     = var.project_id
  dataset_id  = var.dataset_id
  location    = var.location
  description = "footfall: raw events archive (source of truth for backfills)."
  labels      = var.labels

  delete_contents_on_destroy = !var.deletion_protection
}

resource "google_bigquery_table" "events" {
  project             = var.project_id
  dataset_id          = google_bigquery_dataset.this.dataset_id
  table_id            = var.table_id
  description         = "One row per accepted event (internal/event.Event)."
  deletion_protection = var.deletion_protection
  labels              = var.labels

  schema = file("${path.module}/events_schema.json")

  time_partitioning {
    type          = "DAY"
    field         = "event_time"
    expiration_ms = var.partition_expiration_days == null ? null : var.partition_expiration_days * 24 * 60 * 60 * 1000
  }

  require_partition_filter = var.require_partition_filter

  clustering = ["merchant_id"]
}
