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

output "app_profiles" {
  description = "App profile id by workload: streaming, sealer, queryapi."
  value       = { for k, p in google_bigtable_app_profile.this : k => p.app_profile_id }
}

output "profile_routing" {
  description = "Each profile's routing (\"multi-cluster\" or \"single-cluster\") and whether it allows transactional writes."
  value = { for k, p in local.profiles : k => {
    routing       = p.multi ? "multi-cluster" : "single-cluster"
    transactional = p.transactional
    cluster       = p.multi ? null : local.primary_cluster
  } }
}

output "routing" {
  description = "How the query API's profile routes: \"multi-cluster\" (replicated instance) or \"single-cluster\"."
  value       = local.replicated ? "multi-cluster" : "single-cluster"
}

output "keys_table" {
  description = "Table of the merchant key store."
  value       = google_bigtable_table.keys.name
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
