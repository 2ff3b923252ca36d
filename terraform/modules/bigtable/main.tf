# The metrics store: one instance, autoscaled clusters, the tables and
# column families of internal/layout.
#
# families.json is the single Terraform copy of layout.Families(): tables,
# their column families and each family's GC policy in gc_rules form. A Go
# test (internal/layout, TestTerraformFamiliesMatchLayout) keeps the two
# equal; change layout.go and regenerate the file, never edit it by hand.

locals {
  families = jsondecode(file("${path.module}/families.json"))

  # "metrics/p" => { table = "metrics", family = "p", gc_rules = {...} }
  gc_policies = merge([
    for table, fams in local.families : {
      for family, rules in fams : "${table}/${family}" => {
        table    = table
        family   = family
        gc_rules = rules
      }
    }
  ]...)

  replicated = length(var.clusters) > 1
}

resource "google_bigtable_instance" "this" {
  project             = var.project_id
  name                = var.instance_name
  display_name        = coalesce(var.display_name, var.instance_name)
  deletion_protection = var.deletion_protection
  labels              = var.labels

  dynamic "cluster" {
    for_each = var.clusters
    content {
      cluster_id   = cluster.value.cluster_id
      zone         = cluster.value.zone
      storage_type = cluster.value.storage_type

      autoscaling_config {
        min_nodes  = cluster.value.min_nodes
        max_nodes  = cluster.value.max_nodes
        cpu_target = cluster.value.cpu_target
      }
    }
  }
}

resource "google_bigtable_table" "this" {
  for_each = local.families

  project             = var.project_id
  instance_name       = google_bigtable_instance.this.name
  name                = each.key
  deletion_protection = var.deletion_protection ? "PROTECTED" : "UNPROTECTED"

  dynamic "column_family" {
    for_each = keys(each.value)
    content {
      family = column_family.value
    }
  }
}

resource "google_bigtable_gc_policy" "this" {
  for_each = local.gc_policies

  project       = var.project_id
  instance_name = google_bigtable_instance.this.name
  table         = google_bigtable_table.this[each.value.table].name
  column_family = each.value.family
  gc_rules      = jsonencode(each.value.gc_rules)
  # A replicated table's GC policy cannot be deleted (that would relax it);
  # leave it with the table when Terraform stops managing it.
  deletion_policy = "ABANDON"
}

resource "google_bigtable_app_profile" "this" {
  project        = var.project_id
  instance       = google_bigtable_instance.this.name
  app_profile_id = var.app_profile_id
  description    = local.replicated ? "footfall: any healthy cluster (multi-cluster routing)" : "footfall: single cluster"

  # Multi-cluster routing fails over between clusters by itself; writes are
  # then eventually consistent across clusters, which suits cells that each
  # pane overwrites whole.
  multi_cluster_routing_use_any = local.replicated ? true : null

  dynamic "single_cluster_routing" {
    for_each = local.replicated ? [] : [var.clusters[0].cluster_id]
    content {
      cluster_id                 = single_cluster_routing.value
      allow_transactional_writes = false
    }
  }

  ignore_warnings = true
}
