terraform {
  # optional() object attributes with defaults (var.team_subscriptions) need 1.3 or later.
  required_version = ">= 1.5"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
    # google_project_service_identity (the Pub/Sub service agent) exists only in google-beta.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 6.0"
    }
    # archive 2.4+: `source` blocks, zipped in sorted order with zero timestamps (stable md5).
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.4"
    }
    # time_sleep: waits for IAM grants to propagate before the functions deploy.
    time = {
      source  = "hashicorp/time"
      version = "~> 0.12"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = var.labels
}

provider "google-beta" {
  project = var.project_id
  region  = var.region

  default_labels = var.labels
}
