terraform {
  # optional() object attributes with defaults (var.team_subscriptions) need 1.3 or later.
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
    # archive 2.4+: `excludes` skips a listed directory whole.
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.4"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = var.labels
}
