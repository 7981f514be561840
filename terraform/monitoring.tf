# Alerts and a dashboard: postload tells the on-call team when it needs them
# (docs/operations.md, "Alerts and dashboard", has a runbook entry per alert).
#
# Both functions are Cloud Functions 2nd gen, which run as Cloud Run services of the same
# name, so their request metrics are Cloud Run's (resource cloud_run_revision, label
# service_name). Every metric type and label used in a filter here or in the dashboard is
# checked against the list Cloud Monitoring documents (test/support/monitoring-metrics.ts,
# which cites the pages).

locals {
  ingest_service_filter    = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${google_cloudfunctions2_function.ingest.name}\""
  processor_service_filter = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${google_cloudfunctions2_function.processor.name}\""

  runbook = "Runbook: docs/operations.md in the postload repository, section \"Alerts and dashboard\""

  # The processor logs a permanent action failure (a dbt Cloud job that cannot start, a
  # Slack webhook that is gone) at ERROR with the message "<action> failed permanently;
  # recorded and acknowledged" and the action's id (functions/processor).
  permanent_action_failure_log_filter = "${local.processor_service_filter} AND severity = ERROR AND jsonPayload.actionId:* AND jsonPayload.message:\"failed permanently\""
}

# --- log-based metrics: what only the logs know ----------------------------------------

# For the dashboard. The alert on the same entries matches the log itself (below).
resource "google_logging_metric" "permanent_action_failures" {
  count = var.dashboard_enabled ? 1 : 0

  name        = "${var.name_prefix}-permanent-action-failures"
  description = "postload: processor actions (dbt Cloud runs, Slack messages) that failed permanently and were recorded, not retried."
  filter      = local.permanent_action_failure_log_filter

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }

  depends_on = [google_project_service.apis]
}

# The ingest function logs a failed publish at ERROR with status 503 and the message
# "webhook not stored: publishing failed, the sender must retry" (functions/ingest).
resource "google_logging_metric" "publish_failures" {
  count = var.dashboard_enabled ? 1 : 0

  name        = "${var.name_prefix}-publish-failures"
  description = "postload: webhooks answered 503 because publishing to Pub/Sub failed (the sender retries)."
  filter      = "${local.ingest_service_filter} AND severity = ERROR AND jsonPayload.status = 503 AND jsonPayload.message:\"publishing failed\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }

  depends_on = [google_project_service.apis]
}

# --- alert policies ----------------------------------------------------------------------

resource "google_monitoring_alert_policy" "dead_letters" {
  count = var.alerts_enabled ? 1 : 0

  display_name          = "postload (${var.name_prefix}): dead letters waiting"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "Undelivered messages in ${google_pubsub_subscription.dead_letter.name} above ${var.alert_dead_letters_threshold}"

    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.dead_letter.name}\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_dead_letters_threshold
      duration        = "0s"

      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "postload: events are waiting in the dead-letter subscription"
    content   = <<-EOT
      The processor failed on an event ${var.max_delivery_attempts} times and Pub/Sub moved it to
      `${google_pubsub_subscription.dead_letter.id}`. It waits there for 7 days; nothing retries it.

      What to do: read the dead letters and the processor's errors, fix the cause (dbt Cloud
      outage, revoked token, ...), then replay them. From a clone of postload:
      `postload replay --dry-run --subscription ${google_pubsub_subscription.dead_letter.id} --topic ${google_pubsub_topic.sync_events.id}`
      lists each dead letter with its event and last error, `postload event ID --project ${var.project_id}`
      tells one event's story, `postload check` checks the configuration, and
      `postload replay --subscription ${google_pubsub_subscription.dead_letter.id} --topic ${google_pubsub_topic.sync_events.id}`
      republishes them.
      ${local.runbook}, entry "Dead letters waiting".
    EOT
  }

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "processor_behind" {
  count = var.alerts_enabled ? 1 : 0

  display_name          = "postload (${var.name_prefix}): processor falling behind"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "Oldest unacknowledged event on ${google_pubsub_subscription.processor.name} older than ${var.alert_processor_oldest_message_age_seconds} s"

    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND resource.labels.subscription_id = \"${google_pubsub_subscription.processor.name}\" AND metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_processor_oldest_message_age_seconds
      duration        = "300s"

      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "postload: the processor is not keeping up with sync events"
    content   = <<-EOT
      The oldest event on `${google_pubsub_subscription.processor.id}` has waited more than
      ${var.alert_processor_oldest_message_age_seconds} s: the processor keeps failing on it (it is retried with
      backoff) or cannot keep up.

      What to do: check the processor's errors and 5xx rate, dbt Cloud and Slack status, and
      the processor's instance limit. From a clone of postload:
      `postload events --since 1h --outcome retrying` lists the events still being retried,
      `postload event ID` shows what each action is waiting for.
      ${local.runbook}, entry "Processor falling behind".
    EOT
  }

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "ingest_5xx" {
  count = var.alerts_enabled ? 1 : 0

  display_name          = "postload (${var.name_prefix}): ingest answering 5xx"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "Share of 5xx answers of ${google_cloudfunctions2_function.ingest.name} above ${var.alert_ingest_5xx_ratio} over ${var.alert_ingest_5xx_window}"

    condition_threshold {
      filter             = "${local.ingest_service_filter} AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      denominator_filter = "${local.ingest_service_filter} AND metric.type = \"run.googleapis.com/request_count\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.alert_ingest_5xx_ratio
      duration           = "0s"

      aggregations {
        alignment_period     = var.alert_ingest_5xx_window
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }

      denominator_aggregations {
        alignment_period     = var.alert_ingest_5xx_window
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "postload: the webhook endpoint is failing"
    content   = <<-EOT
      More than ${var.alert_ingest_5xx_ratio * 100} % of the webhooks `${google_cloudfunctions2_function.ingest.name}` answered in
      ${var.alert_ingest_5xx_window} were 5xx. Every 503 means a sender (Fivetran, Airbyte) is retrying, and
      Fivetran gives up after a day: a secret without a value, a Secret Manager permission, or a
      Pub/Sub outage.

      What to do: read the ingest function's ERROR logs (they name the setting or the cause).
      From a clone of postload: `postload check` finds an unset or unreadable secret or a
      malformed setting; `postload send fivetran --test --url ${google_cloudfunctions2_function.ingest.service_config[0].uri}/fivetran` proves the fix.
      ${local.runbook}, entry "Ingest answering 5xx".
    EOT
  }

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "processor_5xx" {
  count = var.alerts_enabled ? 1 : 0

  display_name          = "postload (${var.name_prefix}): processor deliveries failing"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = var.alert_notification_channels

  conditions {
    display_name = "5xx answers of ${google_cloudfunctions2_function.processor.name} above ${var.alert_processor_5xx_count} per ${var.alert_processor_5xx_window}"

    condition_threshold {
      filter          = "${local.processor_service_filter} AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.alert_processor_5xx_count
      duration        = "0s"

      aggregations {
        alignment_period     = var.alert_processor_5xx_window
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.labels.service_name"]
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "postload: the processor keeps failing deliveries"
    content   = <<-EOT
      `${google_cloudfunctions2_function.processor.name}` answered more than ${var.alert_processor_5xx_count} deliveries with 5xx in
      ${var.alert_processor_5xx_window}. Each one is a transient failure (dbt Cloud or Slack unreachable,
      Firestore errors, a timeout) that Pub/Sub redelivers; after ${var.max_delivery_attempts} attempts the event
      is dead-lettered.

      What to do: read the processor's WARNING and ERROR logs, check dbt Cloud and Slack.
      From a clone of postload: `postload events --since 1h --outcome retrying` lists the
      events failing now and their last error, `postload event ID` their requests and errors,
      `postload check` the dbt Cloud token and jobs.
      ${local.runbook}, entry "Processor deliveries failing".
    EOT
  }

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "permanent_action_failures" {
  count = var.alerts_enabled && var.alert_on_permanent_action_failures ? 1 : 0

  display_name          = "postload (${var.name_prefix}): actions failing permanently"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = var.alert_notification_channels

  # A log-match condition, not a threshold on the log-based metric: Cloud Monitoring
  # refuses an alert on a log-based metric created minutes before ("Cannot find metric(s)
  # ... it could take up to 10 minutes to become available",
  # https://github.com/hashicorp/terraform-provider-google/issues/11102), which would fail
  # the first apply.
  conditions {
    display_name = "Permanent action failures logged by ${google_cloudfunctions2_function.processor.name}"

    condition_matched_log {
      filter = local.permanent_action_failure_log_filter
    }
  }

  # Log-match alerts require a notification rate limit; one incident per 5 minutes.
  alert_strategy {
    notification_rate_limit {
      period = "300s"
    }
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "postload: a dbt Cloud job or Slack message failed for good"
    content   = <<-EOT
      The processor recorded an action as permanently failed (it is not retried): a dbt Cloud
      job that cannot start (wrong job id, revoked token) or a Slack webhook that is gone.

      What to do: find the action in the processor's ERROR logs ("failed permanently"), fix the
      routing file or the secret. From a clone of postload: `postload events --since 1h --outcome failed`
      lists the events, `postload event ID` the action and the vendor's answer, `postload check`
      the routing file's jobs and the secrets. postload does not retry an action that failed for
      good: start the dbt job by hand if it must still run.
      ${local.runbook}, entry "Actions failing permanently".
    EOT
  }

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "unsent_slack_messages" {
  count = var.alerts_enabled ? 1 : 0

  display_name          = "postload (${var.name_prefix}): messages not sent to Slack"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = var.alert_notification_channels

  # Slack is optional (var.slack_enabled), and its webhook secret may hold no value yet:
  # each message that had no webhook to go to is logged with this stable text instead, so
  # the alerts still reach someone. A log-match condition, as for permanent failures.
  conditions {
    display_name = "Messages ${google_cloudfunctions2_function.processor.name} logged instead of sending them to Slack"

    condition_matched_log {
      filter = "${local.processor_service_filter} AND severity = WARNING AND jsonPayload.message:\"Slack message not sent\""
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "300s"
    }
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "postload: a message had no Slack webhook to go to"
    content   = <<-EOT
      The processor had a message for Slack (a failed sync, a dbt job that could not start, a
      final alert before a dead letter, ...) and no Slack webhook to send it to: Slack is not
      configured (slack_enabled = false), or its secret holds no value yet. The message is in
      the processor's log entry ("Slack message not sent", field text); nothing was retried.

      What to do: read the entries, act on what they say. From a clone of postload:
      `postload events --since 1h --project ${var.project_id}` lists the events, `postload event ID` tells one's story, and
      `postload check` says whether Slack is configured. To send to Slack, add the webhook URL
      as a version of the Slack secret (slack_enabled = true).
      ${local.runbook}, entry "Messages not sent to Slack".
    EOT
  }

  depends_on = [google_project_service.apis]
}

# --- dashboard -----------------------------------------------------------------------------

# The layout is kept as JSON in the repository (dashboards/postload.json); Terraform fills
# in the names. The JSON leaves out default values (a 0 position, a 0s time shift), which
# the API does not return, so that plans show no drift.
resource "google_monitoring_dashboard" "postload" {
  count = var.dashboard_enabled ? 1 : 0

  dashboard_json = templatefile("${path.module}/dashboards/postload.json", {
    name_prefix               = var.name_prefix
    ingest_service            = google_cloudfunctions2_function.ingest.name
    processor_service         = google_cloudfunctions2_function.processor.name
    processor_subscription    = google_pubsub_subscription.processor.name
    dead_letter_subscription  = google_pubsub_subscription.dead_letter.name
    publish_failures_metric   = google_logging_metric.publish_failures[0].name
    permanent_failures_metric = google_logging_metric.permanent_action_failures[0].name
  })

  depends_on = [google_project_service.apis]
}
