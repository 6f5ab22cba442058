resource "google_service_account" "nodes" {
  project      = var.project_id
  account_id   = "${var.name}-nodes"
  display_name = "HeadKV GKE nodes"
}

resource "google_project_iam_member" "nodes" {
  for_each = toset([
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/artifactregistry.reader",
  ])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.nodes.email}"
}

resource "google_container_cluster" "fleet" {
  project        = var.project_id
  name           = var.name
  location       = var.region
  node_locations = var.zones

  network    = google_compute_network.fleet.id
  subnetwork = google_compute_subnetwork.nodes.id

  # Node pools are managed below; the default pool is removed right after creation.
  remove_default_node_pool = true
  initial_node_count       = 1

  networking_mode = "VPC_NATIVE"
  ip_allocation_policy {
    cluster_secondary_range_name  = "pods"
    services_secondary_range_name = "services"
  }

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = false
    master_ipv4_cidr_block  = var.master_cidr
  }

  workload_identity_config {
    workload_pool = "${var.project_id}.svc.id.goog"
  }

  release_channel {
    channel = var.release_channel
  }

  resource_labels     = var.labels
  deletion_protection = var.deletion_protection

  depends_on = [google_project_service.required]
}

resource "google_container_node_pool" "system" {
  project        = var.project_id
  name           = "system"
  cluster        = google_container_cluster.fleet.id
  location       = var.region
  node_locations = [var.zones[0]]
  node_count     = 2

  node_config {
    machine_type    = var.system_machine_type
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    labels = merge(var.labels, {
      "headkv.dev/pool" = "system"
    })

    workload_metadata_config {
      mode = "GKE_METADATA"
    }
  }
}

# Scales between zero and gpu_max_nodes with the cluster autoscaler. GKE installs the NVIDIA driver
# (gpu_driver_installation_config) and runs its managed device plugin, and taints GPU nodes with
# nvidia.com/gpu=present:NoSchedule, which the workers tolerate.
resource "google_container_node_pool" "gpu" {
  project            = var.project_id
  name               = "gpu"
  cluster            = google_container_cluster.fleet.id
  location           = var.region
  node_locations     = var.zones
  initial_node_count = 0

  autoscaling {
    total_min_node_count = 0
    total_max_node_count = var.gpu_max_nodes
    location_policy      = "ANY"
  }

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  node_config {
    machine_type    = var.gpu_machine_type
    spot            = var.gpu_spot
    disk_type       = "pd-ssd"
    disk_size_gb    = var.gpu_disk_size_gb
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    labels = merge(var.labels, {
      "headkv.dev/pool" = "gpu"
    })

    guest_accelerator {
      type  = var.gpu_type
      count = 1

      gpu_driver_installation_config {
        gpu_driver_version = "LATEST"
      }
    }

    workload_metadata_config {
      mode = "GKE_METADATA"
    }
  }
}
