terraform {
  # optional() object attributes with defaults (used by var.team_subscriptions) need 1.3.
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
    archive = {
      source = "hashicorp/archive"
      # 2.4 matches directory names in `excludes` and keeps file modes stable across machines.
      version = "~> 2.4"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = var.labels
}
