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

# Whatever publishes to the topic without the key is refused by the processor, which logs
# each refusal at ERROR with a stable text (functions/processor/process-sync-event.ts). This
# alert reaches the on-call team even without Slack. A log-match condition, as for the
# permanent action failures (monitoring.tf says why not a log-based metric).
resource "google_monitoring_alert_policy" "refused_messages" {
  count = var.alerts_enabled ? 1 : 0

  display_name          = "postload (${var.name_prefix}): messages postload did not sign"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "Messages ${google_cloudfunctions2_function.processor.name} refused because postload did not sign them"

    condition_matched_log {
      filter = "${local.processor_service_filter} AND severity = ERROR AND jsonPayload.message:\"refused a Pub/Sub message that postload did not sign\""
    }
  }

  # A flood of forged messages is one notification an hour.
  alert_strategy {
    notification_rate_limit {
      period = "3600s"
    }
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "postload: something published to the SyncEvent topic without postload's signing key"
    content   = <<-EOT
      The processor refused one or more Pub/Sub messages that postload did not sign: something
      other than postload's ingest function can publish to the SyncEvent topic. Nothing was
      started for them; each is recorded as `refused-<message id>` in the audit collection.

      What to do: find who holds pubsub.topics.publish on the topic and remove what should not
      be there. From a clone of postload: `postload event refused-<message id>` shows what was
      refused and what it claimed to be.
      ${local.runbook}, entry "Messages postload did not sign".
    EOT
  }

  depends_on = [google_project_service.apis]
}
