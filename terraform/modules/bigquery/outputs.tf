output "dataset_id" {
  description = "Dataset id (short)."
  value       = google_bigquery_dataset.this.dataset_id
}

output "dataset_resource_id" {
  description = "Full dataset id (projects/P/datasets/D)."
  value       = google_bigquery_dataset.this.id
}

output "table_id" {
  description = "Archive table id (short)."
  value       = google_bigquery_table.events.table_id
}

output "table_spec" {
  description = "Archive table as PROJECT:DATASET.TABLE, the form Beam's BigQuery IO takes."
  value       = "${var.project_id}:${google_bigquery_dataset.this.dataset_id}.${google_bigquery_table.events.table_id}"
}

output "location" {
  description = "Dataset location."
  value       = google_bigquery_dataset.this.location
}

output "deletion_protection" {
  description = "Whether the archive table refuses to be destroyed."
  value       = google_bigquery_table.events.deletion_protection
}

output "partition_expiration_days" {
  description = "Days a day partition is kept; null is forever."
  value       = var.partition_expiration_days
}

output "appends_table_id" {
  description = "Appends table id (short): what the sealer reads to find hours that changed."
  value       = google_bigquery_table.appends.table_id
}

output "dead_letters_table_id" {
  description = "Dead-letter table id (short)."
  value       = google_bigquery_table.dead_letters.table_id
}

output "clustering" {
  description = "Clustering columns of the archive table."
  value       = google_bigquery_table.events.clustering
}

output "storage_billing_model" {
  description = "Storage billing model of the dataset."
  value       = google_bigquery_dataset.this.storage_billing_model
}
