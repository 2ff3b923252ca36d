terraform {
  required_version = ">= 1.7"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 8.0"
    }
    google-beta = {
      source  = "hashicorp/google-beta"
      version = ">= 6.0, < 8.0"
    }
  }

  # Remote state, one prefix per environment. The bucket is created once by
  # hand (docs/deploy.md); give its name at init:
  #   terraform init -backend-config="bucket=<state bucket>"
  backend "gcs" {
    bucket = "CHANGE-ME-footfall-tfstate"
    prefix = "footfall/dev"
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

provider "google-beta" {
  project = var.project_id
  region  = var.region
}
