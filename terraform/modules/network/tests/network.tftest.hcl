mock_provider "google" {}

variables {
  project_id = "footfall-test"
  region     = "us-central1"
}

run "workers_reach_google_apis_without_public_ips" {
  command = plan

  assert {
    condition     = google_compute_subnetwork.dataflow.private_ip_google_access == true
    error_message = "the Dataflow subnetwork has Private Google Access."
  }

  assert {
    condition     = output.dataflow_subnetwork == "regions/us-central1/subnetworks/footfall-dataflow"
    error_message = "the subnetwork is given in the form Dataflow takes."
  }

  assert {
    condition     = one(google_compute_firewall.dataflow_workers.allow).ports == tolist(["12345-12346"])
    error_message = "workers may reach each other on Dataflow's ports."
  }
}
