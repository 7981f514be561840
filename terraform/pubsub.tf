# The sync-events topic, the processor's push subscription with retries and a dead-letter
# topic, and the dead-letter topic's own subscription where failed events wait for replay.

resource "google_pubsub_topic" "sync_events" {
  name                       = var.sync_events_topic_name
  message_retention_duration = var.topic_message_retention

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_topic" "dead_letter" {
  name                       = "${var.sync_events_topic_name}-dead-letter"
  message_retention_duration = var.topic_message_retention

  depends_on = [google_project_service.apis]
}

# Terraform-managed push subscription (rather than an Eventarc trigger, whose subscription
# is Google-managed): its retry and dead-letter policies are declared here.
resource "google_pubsub_subscription" "processor" {
  name  = "${var.name_prefix}-processor"
  topic = google_pubsub_topic.sync_events.id

  ack_deadline_seconds       = local.push_ack_deadline_seconds
  message_retention_duration = "604800s"

  push_config {
    push_endpoint = google_cloudfunctions2_function.processor.service_config[0].uri

    oidc_token {
      service_account_email = google_service_account.push.email
      audience              = google_cloudfunctions2_function.processor.service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = var.retry_minimum_backoff
    maximum_backoff = var.retry_maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  # Never expire for inactivity: a quiet month must not delete the processor's feed.
  expiration_policy {
    ttl = ""
  }

  # Two variables cannot be compared in a validation before Terraform 1.9.
  lifecycle {
    precondition {
      condition     = tonumber(trimsuffix(var.retry_minimum_backoff, "s")) <= tonumber(trimsuffix(var.retry_maximum_backoff, "s"))
      error_message = "retry_minimum_backoff (${var.retry_minimum_backoff}) must not be longer than retry_maximum_backoff (${var.retry_maximum_backoff})."
    }
  }

  depends_on = [
    google_cloud_run_service_iam_member.processor_push_invoker,
    google_service_account_iam_member.push_token_creator,
    google_pubsub_topic_iam_member.dead_letter_publisher,
  ]
}

# Dead letters are kept here (pull) until an operator inspects and replays them (docs/operations.md,
# Replay dead letters). Acknowledged ones are retained too, so a seek can bring them back.
resource "google_pubsub_subscription" "dead_letter" {
  name  = "${var.name_prefix}-dead-letter"
  topic = google_pubsub_topic.dead_letter.id

  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"
  retain_acked_messages      = true

  expiration_policy {
    ttl = ""
  }
}
