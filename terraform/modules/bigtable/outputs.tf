output "instance_name" {
  description = "Bigtable instance id (BIGTABLE_INSTANCE, --bigtable-instance)."
  value       = google_bigtable_instance.this.name
}

output "instance_id" {
  description = "Full instance id (projects/P/instances/I)."
  value       = google_bigtable_instance.this.id
}

output "cluster_ids" {
  description = "Cluster ids, in the order given."
  value       = [for c in var.clusters : c.cluster_id]
}

output "app_profile_id" {
  description = "App profile the clients should use."
  value       = google_bigtable_app_profile.this.app_profile_id
}

output "routing" {
  description = "How the app profile routes: \"multi-cluster\" or \"single-cluster\"."
  value       = local.replicated ? "multi-cluster" : "single-cluster"
}

output "tables" {
  description = "Table names (internal/layout TableMetrics, TableMeta)."
  value       = sort(keys(google_bigtable_table.this))
}

output "families" {
  description = "Each table's column families and GC rules, as families.json says."
  value       = local.families
}

output "deletion_protection" {
  description = "Whether the instance and tables refuse to be destroyed."
  value       = var.deletion_protection
}
