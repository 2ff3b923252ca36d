# The VPC the Dataflow workers run in: one regional subnetwork with Private
# Google Access, so workers without external IP addresses still reach
# Google APIs (Pub/Sub, Bigtable, BigQuery, Cloud Storage, Artifact
# Registry), and the firewall rule Dataflow needs between its own workers
# (TCP 12345-12346, shuffle and streaming data;
# https://cloud.google.com/dataflow/docs/guides/routes-firewall).
# Nothing here needs the internet, so there is no Cloud NAT.

resource "google_compute_network" "this" {
  project                 = var.project_id
  name                    = var.name
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"
}

resource "google_compute_subnetwork" "dataflow" {
  project                  = var.project_id
  name                     = "${var.name}-dataflow"
  region                   = var.region
  network                  = google_compute_network.this.id
  ip_cidr_range            = var.dataflow_cidr
  private_ip_google_access = true
}

resource "google_compute_firewall" "dataflow_workers" {
  project     = var.project_id
  name        = "${var.name}-dataflow-workers"
  network     = google_compute_network.this.id
  description = "Dataflow workers talk to each other on 12345-12346."
  direction   = "INGRESS"
  priority    = 1000

  source_tags = ["dataflow"]
  target_tags = ["dataflow"]

  allow {
    protocol = "tcp"
    ports    = ["12345-12346"]
  }
}
