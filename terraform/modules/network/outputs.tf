output "network" {
  description = "Network self link."
  value       = google_compute_network.this.self_link
}

output "dataflow_subnetwork" {
  description = "Dataflow workers' subnetwork as regions/REGION/subnetworks/NAME (the form Dataflow's subnetwork option takes)."
  value       = "regions/${var.region}/subnetworks/${google_compute_subnetwork.dataflow.name}"
}

output "private_google_access" {
  description = "Whether the Dataflow subnetwork reaches Google APIs without external IPs."
  value       = google_compute_subnetwork.dataflow.private_ip_google_access
}
