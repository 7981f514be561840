# The key postload signs every SyncEvent with (a Pub/Sub message attribute, HMAC-SHA256 of
# the data; functions/shared/sync-event-signature.ts). The processor acts on no message it
# does not verify, so nothing else that can publish to the topic can start a dbt job or
# send a Slack message. Like the other secrets, Terraform creates only the container: its
# value is added by the operator and is in neither the variables nor the state. Every
# enabled version verifies, the newest signs: add a version to rotate, disable the old one
# once no message signed with it is left to deliver.

resource "google_secret_manager_secret" "sync_event_signing_key" {
  secret_id = "${var.name_prefix}-sync-event-signing-key"

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

# Ingest signs with it and the processor verifies with it: both read every enabled version
# (access, and list to find them), on this secret only.
resource "google_secret_manager_secret_iam_member" "sync_event_signing_key_ingest_accessor" {
  secret_id = google_secret_manager_secret.sync_event_signing_key.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.ingest.email}"
}

resource "google_secret_manager_secret_iam_member" "sync_event_signing_key_ingest_lister" {
  secret_id = google_secret_manager_secret.sync_event_signing_key.id
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.ingest.email}"
}

resource "google_secret_manager_secret_iam_member" "sync_event_signing_key_processor_accessor" {
  secret_id = google_secret_manager_secret.sync_event_signing_key.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.processor.email}"
}

resource "google_secret_manager_secret_iam_member" "sync_event_signing_key_processor_lister" {
  secret_id = google_secret_manager_secret.sync_event_signing_key.id
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.processor.email}"
}
