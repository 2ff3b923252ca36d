mock_provider "google" {}

variables {
  project_id = "footfall-test"
  clusters = [{
    cluster_id = "footfall-c1"
    zone       = "us-central1-a"
    min_nodes  = 1
    max_nodes  = 3
    cpu_target = 60
  }]
  deletion_protection = false
}

run "tables_and_families_match_the_layout" {
  command = plan

  assert {
    condition     = toset(keys(google_bigtable_table.this)) == toset(["metrics", "meta"])
    error_message = "tables must be metrics and meta (layout.TableMetrics, layout.TableMeta)."
  }

  assert {
    condition     = toset([for cf in google_bigtable_table.this["metrics"].column_family : cf.family]) == toset(["p", "s", "r"])
    error_message = "metrics has families p, s and r."
  }

  assert {
    condition     = toset([for cf in google_bigtable_table.this["meta"].column_family : cf.family]) == toset(["m"])
    error_message = "meta has family m."
  }

  assert {
    condition     = toset(keys(google_bigtable_gc_policy.this)) == toset(["metrics/p", "metrics/s", "metrics/r", "meta/m"])
    error_message = "every family has a GC policy."
  }
}

run "gc_policies_match_the_layout" {
  command = plan

  assert {
    condition = alltrue([
      for k in ["metrics/p", "metrics/s", "meta/m"] :
      jsondecode(google_bigtable_gc_policy.this[k].gc_rules) == { rules = [{ max_version = 1 }] }
    ])
    error_message = "p, s and m keep one version."
  }

  assert {
    condition     = jsondecode(google_bigtable_gc_policy.this["metrics/r"].gc_rules).mode == "union"
    error_message = "r drops a cell when either rule matches (union)."
  }

  assert {
    condition     = jsondecode(google_bigtable_gc_policy.this["metrics/r"].gc_rules).rules == [{ max_version = 1 }, { max_age = "3h" }]
    error_message = "r keeps one version for at most 3h (layout.RealtimeRetention)."
  }

  assert {
    condition     = google_bigtable_gc_policy.this["metrics/r"].table == "metrics" && google_bigtable_gc_policy.this["metrics/r"].column_family == "r"
    error_message = "the realtime policy applies to metrics/r."
  }
}

run "one_autoscaled_cluster_single_routing" {
  command = plan

  assert {
    condition     = length(google_bigtable_instance.this.cluster) == 1
    error_message = "dev has one cluster."
  }

  assert {
    condition = (
      google_bigtable_instance.this.cluster[0].autoscaling_config[0].min_nodes == 1 &&
      google_bigtable_instance.this.cluster[0].autoscaling_config[0].max_nodes == 3 &&
      google_bigtable_instance.this.cluster[0].autoscaling_config[0].cpu_target == 60
    )
    error_message = "the cluster autoscales between min and max nodes at the CPU target."
  }

  assert {
    condition     = alltrue([for p in google_bigtable_app_profile.this : p.single_cluster_routing[0].cluster_id == "footfall-c1" && p.multi_cluster_routing_use_any == null])
    error_message = "one cluster: every profile routes to it."
  }

  assert {
    condition = (
      google_bigtable_app_profile.this["sealer"].single_cluster_routing[0].allow_transactional_writes == true &&
      google_bigtable_app_profile.this["streaming"].single_cluster_routing[0].allow_transactional_writes == false &&
      google_bigtable_app_profile.this["queryapi"].single_cluster_routing[0].allow_transactional_writes == false
    )
    error_message = "only the sealer's profile allows transactional writes."
  }

  assert {
    condition     = google_bigtable_table.keys.name == "keys" && toset([for cf in google_bigtable_table.keys.column_family : cf.family]) == toset(["k"])
    error_message = "the key store's table exists."
  }

  assert {
    condition     = google_bigtable_table.this["metrics"].deletion_protection == "UNPROTECTED" && google_bigtable_instance.this.deletion_protection == false
    error_message = "deletion protection follows the variable."
  }
}

run "two_clusters_multi_cluster_routing" {
  command = plan

  variables {
    clusters = [
      { cluster_id = "footfall-c1", zone = "us-central1-a", min_nodes = 3, max_nodes = 30, cpu_target = 60 },
      { cluster_id = "footfall-c2", zone = "us-central1-b", min_nodes = 3, max_nodes = 30, cpu_target = 60 },
    ]
    deletion_protection = true
  }

  assert {
    condition     = length(google_bigtable_instance.this.cluster) == 2
    error_message = "two clusters requested."
  }

  assert {
    condition     = google_bigtable_app_profile.this["queryapi"].multi_cluster_routing_use_any == true && length(google_bigtable_app_profile.this["queryapi"].single_cluster_routing) == 0
    error_message = "two clusters: the readers' profile routes to any healthy cluster."
  }

  assert {
    condition = (
      google_bigtable_app_profile.this["streaming"].single_cluster_routing[0].cluster_id == "footfall-c1" &&
      google_bigtable_app_profile.this["sealer"].single_cluster_routing[0].cluster_id == "footfall-c1" &&
      google_bigtable_app_profile.this["sealer"].single_cluster_routing[0].allow_transactional_writes == true
    )
    error_message = "two clusters: the writers stay on one cluster; the sealer's profile allows transactions."
  }

  assert {
    condition     = output.routing == "multi-cluster"
    error_message = "routing output says multi-cluster."
  }

  assert {
    condition     = google_bigtable_table.this["metrics"].deletion_protection == "PROTECTED"
    error_message = "tables are protected with deletion_protection."
  }
}

run "clusters_in_distinct_zones" {
  command = plan

  variables {
    clusters = [
      { cluster_id = "a", zone = "us-central1-a", min_nodes = 1, max_nodes = 2, cpu_target = 60 },
      { cluster_id = "b", zone = "us-central1-a", min_nodes = 1, max_nodes = 2, cpu_target = 60 },
    ]
  }

  expect_failures = [var.clusters]
}

run "writers_fail_over_by_variable" {
  command = plan

  variables {
    clusters = [
      { cluster_id = "footfall-c1", zone = "us-central1-a", min_nodes = 1, max_nodes = 3, cpu_target = 60 },
      { cluster_id = "footfall-c2", zone = "us-central1-b", min_nodes = 1, max_nodes = 3, cpu_target = 60 },
    ]
    single_cluster_id = "footfall-c2"
  }

  assert {
    condition     = google_bigtable_app_profile.this["streaming"].single_cluster_routing[0].cluster_id == "footfall-c2"
    error_message = "single_cluster_id moves the single-cluster profiles."
  }
}
