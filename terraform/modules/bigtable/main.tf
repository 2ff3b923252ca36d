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

# App profiles, one per workload (docs/deploy.md, "Bigtable app profiles"):
#
#   streaming  the streaming job's provisional and realtime writes: plain,
#              idempotent whole-row mutations that must replicate in order from
#              one cluster, so single-cluster routing, no transactions.
#   sealer     the backfill/sealer jobs and the admin command: single-cluster
#              routing with transactional writes, the only profile that allows
#              CheckAndMutateRow / ReadModifyWriteRow (the seal lease, key
#              creation). Google: single-row transactions need single-cluster
#              routing with allow_transactional_writes
#              (https://cloud.google.com/bigtable/docs/app-profiles).
#   queryapi   the query API's and ingest's reads: multi-cluster routing when
#              replicated (any healthy cluster, automatic failover), which
#              refuses single-row transactions.
#
# The Go side is held to this by terraform/contract (TestAppProfilesAllowWhatTheCodeDoes):
# code reachable from a binary may call a transactional Bigtable method only
# if the profile Terraform passes that binary allows transactional writes.
locals {
  primary_cluster = coalesce(var.single_cluster_id, var.clusters[0].cluster_id)

  profiles = {
    streaming = { description = "footfall streaming job: provisional writes (single cluster, no transactions)", multi = false, transactional = false }
    sealer    = { description = "footfall sealer, backfill and admin: seal lease and key creation (single cluster, transactional)", multi = false, transactional = true }
    queryapi  = { description = "footfall query API and ingest key lookups: reads (any healthy cluster)", multi = local.replicated, transactional = false }
  }
}

resource "google_bigtable_app_profile" "this" {
  for_each = local.profiles

  project        = var.project_id
  instance       = google_bigtable_instance.this.name
  app_profile_id = each.key
  description    = each.value.description

  multi_cluster_routing_use_any = each.value.multi ? true : null

  dynamic "single_cluster_routing" {
    for_each = each.value.multi ? [] : [local.primary_cluster]
    content {
      cluster_id                 = single_cluster_routing.value
      allow_transactional_writes = each.value.transactional
    }
  }

  ignore_warnings = true
}

# Merchant keys (internal/keys.BigtableStore): one row per merchant and one
# index row per key. Not part of internal/layout (the metrics contract), so
# it is declared here; terraform/contract checks its name and family against
# internal/keys.
resource "google_bigtable_table" "keys" {
  project             = var.project_id
  instance_name       = google_bigtable_instance.this.name
  name                = var.keys_table
  deletion_protection = var.deletion_protection ? "PROTECTED" : "UNPROTECTED"

  column_family {
    family = var.keys_family
  }
}

resource "google_bigtable_gc_policy" "keys" {
  project         = var.project_id
  instance_name   = google_bigtable_instance.this.name
  table           = google_bigtable_table.keys.name
  column_family   = var.keys_family
  gc_rules        = jsonencode({ rules = [{ max_version = 1 }] })
  deletion_policy = "ABANDON"
}
