# One identity per role, each allowed only what it uses (see iam.tf and secrets.tf).

resource "google_service_account" "ingest" {
  account_id   = "${var.name_prefix}-ingest"
  display_name = "postload ingest function"
  description  = "Runs ingestWebhook: publishes to the sync-events topic and reads the webhook secrets."

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "processor" {
  account_id   = "${var.name_prefix}-processor"
  display_name = "postload processor function"
  description  = "Runs processSyncEvent: Firestore audit trail, dbt Cloud and Slack secrets."

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "push" {
  account_id   = "${var.name_prefix}-push"
  display_name = "postload push subscription"
  description  = "Identity in the OIDC token of each push to the processor; may only invoke it."

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "build" {
  account_id   = "${var.name_prefix}-build"
  display_name = "postload function builds"
  description  = "Cloud Build identity that compiles and packages both functions on deploy."

  depends_on = [google_project_service.apis]
}
