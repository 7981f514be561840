# Secret Manager secrets: containers only. Their values are added by the operator
# (`gcloud secrets versions add`, see docs/deploy.md) and never pass through Terraform, so they
# are in neither the variables nor the state.
#
# The functions get references without a version (sm://projects/P/secrets/NAME): every
# enabled version is accepted, so a secret rotates without a failed delivery. Reading
# "every enabled version" lists versions, so each reader gets roles/secretmanager.viewer
# (secretmanager.versions.list) besides roles/secretmanager.secretAccessor, on that secret only.

# --- ingest: Fivetran signing secret -------------------------------------------------

resource "google_secret_manager_secret" "fivetran_webhook_secret" {
  secret_id = "${var.name_prefix}-fivetran-webhook-secret"

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "fivetran_webhook_secret_accessor" {
  secret_id = google_secret_manager_secret.fivetran_webhook_secret.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.ingest.email}"
}

resource "google_secret_manager_secret_iam_member" "fivetran_webhook_secret_lister" {
  secret_id = google_secret_manager_secret.fivetran_webhook_secret.id
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.ingest.email}"
}

# --- ingest: Airbyte URL token -------------------------------------------------------

resource "google_secret_manager_secret" "airbyte_webhook_token" {
  secret_id = "${var.name_prefix}-airbyte-webhook-token"

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "airbyte_webhook_token_accessor" {
  secret_id = google_secret_manager_secret.airbyte_webhook_token.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.ingest.email}"
}

resource "google_secret_manager_secret_iam_member" "airbyte_webhook_token_lister" {
  secret_id = google_secret_manager_secret.airbyte_webhook_token.id
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.ingest.email}"
}

# --- ingest: dbt Cloud webhook signing secret (the webhook's hmac_secret) ------------

resource "google_secret_manager_secret" "dbt_cloud_webhook_secret" {
  secret_id = "${var.name_prefix}-dbt-cloud-webhook-secret"

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "dbt_cloud_webhook_secret_accessor" {
  secret_id = google_secret_manager_secret.dbt_cloud_webhook_secret.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.ingest.email}"
}

resource "google_secret_manager_secret_iam_member" "dbt_cloud_webhook_secret_lister" {
  secret_id = google_secret_manager_secret.dbt_cloud_webhook_secret.id
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.ingest.email}"
}

# --- processor: dbt Cloud API token --------------------------------------------------

resource "google_secret_manager_secret" "dbt_cloud_api_token" {
  secret_id = "${var.name_prefix}-dbt-cloud-api-token"

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "dbt_cloud_api_token_accessor" {
  secret_id = google_secret_manager_secret.dbt_cloud_api_token.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.processor.email}"
}

resource "google_secret_manager_secret_iam_member" "dbt_cloud_api_token_lister" {
  secret_id = google_secret_manager_secret.dbt_cloud_api_token.id
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.processor.email}"
}

# --- processor: Slack incoming webhook URL (optional: var.slack_enabled) -------------

resource "google_secret_manager_secret" "slack_webhook_url" {
  count = var.slack_enabled ? 1 : 0

  secret_id = "${var.name_prefix}-slack-webhook-url"

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "slack_webhook_url_accessor" {
  count = var.slack_enabled ? 1 : 0

  secret_id = google_secret_manager_secret.slack_webhook_url[0].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.processor.email}"
}

resource "google_secret_manager_secret_iam_member" "slack_webhook_url_lister" {
  count = var.slack_enabled ? 1 : 0

  secret_id = google_secret_manager_secret.slack_webhook_url[0].id
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.processor.email}"
}

# --- processor: per-route Slack webhooks named in the routing file (sm://...) ----------

resource "google_secret_manager_secret" "slack_route_webhook" {
  for_each = toset(var.slack_route_webhook_secrets)

  secret_id = each.value

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "slack_route_webhook_accessor" {
  for_each = google_secret_manager_secret.slack_route_webhook

  secret_id = each.value.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.processor.email}"
}

resource "google_secret_manager_secret_iam_member" "slack_route_webhook_lister" {
  for_each = google_secret_manager_secret.slack_route_webhook

  secret_id = each.value.id
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.processor.email}"
}
