# The raw-event archive: every accepted event, partitioned by the day of its
# event time and clustered by event time, so a seal of one hour reads about
# that hour's blocks, not its whole day (pipelines/io/bqarchive). Beside it:
#   <table>_appends       one row per event hour of each append (what the
#                         sealer reads to learn which hours got new events),
#                         kept appends_retention_days;
#   <table>_dead_letters  messages the streaming job could not archive, with
#                         the reason and the raw payload.
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

  # Physical (compressed) bytes: the archive compresses ~7× (docs/capacity.md).
  storage_billing_model = var.storage_billing_model
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

  clustering = var.clustering
}

# Schemas generated from pipelines/io/bqarchive (AppendsSchema,
# DeadLettersSchema); TestTerraformSideTableSchemas keeps them equal.
resource "google_bigquery_table" "appends" {
  project             = var.project_id
  dataset_id          = google_bigquery_dataset.this.dataset_id
  table_id            = "${var.table_id}_appends"
  description         = "One row per event hour of each append to ${var.table_id} (pipelines/io/bqarchive)."
  deletion_protection = false # derived data, rebuilt by the writer
  labels              = var.labels

  schema = file("${path.module}/appends_schema.json")

  time_partitioning {
    type          = "DAY"
    field         = "appended_at"
    expiration_ms = var.appends_retention_days * 24 * 60 * 60 * 1000
  }

  require_partition_filter = true
  clustering               = ["event_hour"]
}

resource "google_bigquery_table" "dead_letters" {
  project             = var.project_id
  dataset_id          = google_bigquery_dataset.this.dataset_id
  table_id            = "${var.table_id}_dead_letters"
  description         = "Messages the streaming job could not archive (undecodable, or rejected by BigQuery), with reason and payload."
  deletion_protection = var.deletion_protection
  labels              = var.labels

  schema = file("${path.module}/dead_letters_schema.json")

  time_partitioning {
    type          = "DAY"
    field         = "dead_lettered_at"
    expiration_ms = var.dead_letter_retention_days == null ? null : var.dead_letter_retention_days * 24 * 60 * 60 * 1000
  }
}
