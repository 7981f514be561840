# The scheduled sweep (issue 27; docs/freshness.md): freshness alerts and reconciliation
# against the Fivetran and Airbyte APIs, one tick every var.sweep_interval_minutes.
#
# The tick travels Cloud Scheduler → Pub/Sub topic → push subscription (OIDC) → the sweep
# function, not as a direct HTTP call from Cloud Scheduler:
# - no new identity or grant for the scheduler: Cloud Scheduler's own service agent
#   publishes to a topic of the same project, and the only authenticated hop is the push
#   subscription's OIDC token, the same mechanism and identity that guard the processor;
#   the function is never public and takes no request from outside Google;
# - retries and expiry are the subscription's: a failed tick is delivered again with
#   backoff until it is 10 minutes old, then dropped (the next tick does the same work);
# - the sweep is a CloudEvent function like the processor, and `npm start` drives it
#   the same way through the Pub/Sub emulator.
# Ticks are idempotent (the sweep works from the clock and what it reads), so a late,
# repeated or overlapping tick changes nothing the first one did not.

locals {
  sweep_function_name = "${var.name_prefix}-sweep"
  sweep_entry_point   = "runSweep"
  # Every Firestore, Slack and vendor API call of a tick ends within this, well inside the function's timeout.
  sweep_budget_ms = floor(var.sweep_timeout_seconds * 0.8) * 1000
}

resource "google_pubsub_topic" "sweep_ticks" {
  name                       = "${var.name_prefix}-sweep-ticks"
  message_retention_duration = "600s"

  depends_on = [google_project_service.apis]
}

resource "google_cloud_scheduler_job" "sweep" {
  name        = local.sweep_function_name
  region      = var.region
  description = "postload: one freshness and reconciliation sweep every ${var.sweep_interval_minutes} minutes."
  schedule    = "*/${var.sweep_interval_minutes} * * * *"
  time_zone   = "Etc/UTC"
  paused      = !var.sweep_enabled

  pubsub_target {
    topic_name = google_pubsub_topic.sweep_ticks.id
    data       = base64encode("{\"tick\":\"postload sweep\"}")
  }

  # A publish that fails is not retried by the scheduler: the next tick comes soon enough.
  retry_config {
    retry_count = 0
  }

  depends_on = [google_project_service.apis]
}

resource "google_pubsub_subscription" "sweep" {
  name  = "${var.name_prefix}-sweep"
  topic = google_pubsub_topic.sweep_ticks.id

  ack_deadline_seconds       = min(600, var.sweep_timeout_seconds + 30)
  message_retention_duration = "600s"

  push_config {
    push_endpoint = google_cloudfunctions2_function.sweep.service_config[0].uri

    oidc_token {
      service_account_email = google_service_account.push.email
      audience              = google_cloudfunctions2_function.sweep.service_config[0].uri
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "120s"
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_cloud_run_service_iam_member.sweep_push_invoker,
    google_service_account_iam_member.push_token_creator,
  ]
}

resource "google_cloudfunctions2_function" "sweep" {
  name        = local.sweep_function_name
  location    = var.region
  description = "postload: the scheduled sweep (freshness alerts, reconciliation with the vendor APIs)."

  build_config {
    runtime         = "nodejs22"
    entry_point     = local.sweep_entry_point
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory = var.sweep_memory
    timeout_seconds  = var.sweep_timeout_seconds
    # One sweep at a time is enough (overlapping ones would be harmless, only wasteful).
    min_instance_count             = 0
    max_instance_count             = 1
    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.sweep.email

    environment_variables = {
      NODE_ENV                 = "production"
      LOG_LEVEL                = var.log_level
      GOOGLE_CLOUD_PROJECT     = var.project_id
      SECRET_CACHE_TTL_SECONDS = tostring(var.secret_cache_ttl_seconds)
      ROUTING_CONFIG           = local.routing_config_json
      # Slack is optional: blank (freshness messages only logged) when var.slack_enabled is false.
      SLACK_WEBHOOK_URL        = var.slack_enabled ? "sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.slack_webhook_url[0].secret_id}" : ""
      SLACK_WEBHOOK_HOSTS      = join(",", var.slack_webhook_hosts)
      # Freshness incidents through the Slack app (slack_app.tf): blank when var.slack_app_enabled is false.
      SLACK_BOT_TOKEN          = var.slack_app_enabled ? "sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.slack_bot_token[0].secret_id}" : ""
      SLACK_STATUS_PAGE_URL    = var.slack_status_page_url
      # Recovered SyncEvents are signed as ingest signs them: the processor acts on nothing else.
      SYNC_EVENT_SIGNING_KEY   = "sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.sync_event_signing_key.secret_id}"
      SYNC_EVENTS_TOPIC        = google_pubsub_topic.sync_events.name
      AUDIT_COLLECTION         = var.audit_collection
      CONNECTORS_COLLECTION    = var.connectors_collection
      JOINS_COLLECTION         = var.joins_collection
      JOB_STATE_COLLECTION     = var.job_state_collection
      FOLLOWED_RUNS_COLLECTION = var.followed_runs_collection
      FRESHNESS_COLLECTION     = var.freshness_collection
      SWEEP_COLLECTION         = var.sweep_collection
      AUDIT_RETENTION_DAYS     = tostring(var.audit_retention_days)
      SWEEP_BUDGET_MS          = tostring(local.sweep_budget_ms)
      RECONCILE_AFTER_SECONDS  = tostring(var.reconcile_after_seconds)
      RECONCILE_LOOKBACK_HOURS = tostring(var.reconcile_lookback_hours)
      VENDOR_API_TIMEOUT_MS    = tostring(var.vendor_api_timeout_ms)
      # Optional: without them the sweep watches freshness from the webhooks alone.
      FIVETRAN_API_KEY       = var.fivetran_api_enabled ? "sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.fivetran_api_key[0].secret_id}" : ""
      FIVETRAN_API_SECRET    = var.fivetran_api_enabled ? "sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.fivetran_api_secret[0].secret_id}" : ""
      FIVETRAN_API_BASE_URL  = var.fivetran_api_base_url
      FIVETRAN_GROUP_ID      = var.fivetran_group_id
      AIRBYTE_API_CLIENT_ID  = var.airbyte_api_enabled ? "sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.airbyte_api_client_id[0].secret_id}" : ""
      AIRBYTE_API_CLIENT_SECRET = var.airbyte_api_enabled ? "sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.airbyte_api_client_secret[0].secret_id}" : ""
      AIRBYTE_API_BASE_URL   = var.airbyte_api_base_url
      AIRBYTE_WORKSPACE_IDS  = join(",", var.airbyte_workspace_ids)
    }
  }

  lifecycle {
    precondition {
      condition     = local.routing_config_bytes <= local.routing_config_max_bytes
      error_message = "The routing file ${var.routing_config_file} is ${local.routing_config_bytes} bytes compacted, more than the ${local.routing_config_max_bytes} bytes it may take of the sweep's environment (32 KiB in total for every variable, a Cloud Run limit)."
    }
  }

  depends_on = [
    time_sleep.iam_propagation,
    google_firestore_database.database,
  ]
}

# Private: only the push subscription's identity may invoke the sweep.
resource "google_cloud_run_service_iam_member" "sweep_push_invoker" {
  location = google_cloudfunctions2_function.sweep.location
  service  = google_cloudfunctions2_function.sweep.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.push.email}"
}

resource "google_service_account" "sweep" {
  account_id   = "${var.name_prefix}-sweep"
  display_name = "postload sweep function"
  description  = "Runs runSweep: freshness documents in Firestore, recovered SyncEvents to the topic, the Slack and vendor API secrets."

  depends_on = [google_project_service.apis]
}

# Freshness documents, and reads of the connector, audit and join documents the processor writes.
resource "google_project_iam_member" "sweep_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.sweep.email}"

  condition {
    title       = "postload Firestore database"
    description = "Only the database postload keeps its audit trail and freshness in."
    expression  = "resource.name == \"projects/${var.project_id}/databases/${local.firestore_database}\""
  }
}

# Reconciliation publishes the SyncEvents whose webhooks never arrived, to the ingest topic only.
resource "google_pubsub_topic_iam_member" "sweep_publisher" {
  topic  = google_pubsub_topic.sync_events.id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${google_service_account.sweep.email}"
}

# Recovered SyncEvents are signed with the key ingest signs with (terraform/signing.tf).
resource "google_secret_manager_secret_iam_member" "sync_event_signing_key_sweep_accessor" {
  secret_id = google_secret_manager_secret.sync_event_signing_key.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.sweep.email}"
}

resource "google_secret_manager_secret_iam_member" "sync_event_signing_key_sweep_lister" {
  secret_id = google_secret_manager_secret.sync_event_signing_key.id
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.sweep.email}"
}

# Freshness alerts go to the Slack webhooks the processor uses (when Slack is enabled).
resource "google_secret_manager_secret_iam_member" "slack_webhook_url_sweep_accessor" {
  count = length(google_secret_manager_secret.slack_webhook_url)

  secret_id = google_secret_manager_secret.slack_webhook_url[count.index].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.sweep.email}"
}

resource "google_secret_manager_secret_iam_member" "slack_webhook_url_sweep_lister" {
  count = length(google_secret_manager_secret.slack_webhook_url)

  secret_id = google_secret_manager_secret.slack_webhook_url[count.index].id
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.sweep.email}"
}

resource "google_secret_manager_secret_iam_member" "slack_route_webhook_sweep_accessor" {
  for_each = google_secret_manager_secret.slack_route_webhook

  secret_id = each.value.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.sweep.email}"
}

resource "google_secret_manager_secret_iam_member" "slack_route_webhook_sweep_lister" {
  for_each = google_secret_manager_secret.slack_route_webhook

  secret_id = each.value.id
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.sweep.email}"
}

# --- optional vendor API credentials (read by the sweep only) ---------------------------

resource "google_secret_manager_secret" "fivetran_api_key" {
  count     = var.fivetran_api_enabled ? 1 : 0
  secret_id = "${var.name_prefix}-fivetran-api-key"

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret" "fivetran_api_secret" {
  count     = var.fivetran_api_enabled ? 1 : 0
  secret_id = "${var.name_prefix}-fivetran-api-secret"

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret" "airbyte_api_client_id" {
  count     = var.airbyte_api_enabled ? 1 : 0
  secret_id = "${var.name_prefix}-airbyte-api-client-id"

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret" "airbyte_api_client_secret" {
  count     = var.airbyte_api_enabled ? 1 : 0
  secret_id = "${var.name_prefix}-airbyte-api-client-secret"

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "fivetran_api_key_accessor" {
  count = length(google_secret_manager_secret.fivetran_api_key)

  secret_id = google_secret_manager_secret.fivetran_api_key[count.index].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.sweep.email}"
}

resource "google_secret_manager_secret_iam_member" "fivetran_api_key_lister" {
  count = length(google_secret_manager_secret.fivetran_api_key)

  secret_id = google_secret_manager_secret.fivetran_api_key[count.index].id
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.sweep.email}"
}

resource "google_secret_manager_secret_iam_member" "fivetran_api_secret_accessor" {
  count = length(google_secret_manager_secret.fivetran_api_secret)

  secret_id = google_secret_manager_secret.fivetran_api_secret[count.index].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.sweep.email}"
}

resource "google_secret_manager_secret_iam_member" "fivetran_api_secret_lister" {
  count = length(google_secret_manager_secret.fivetran_api_secret)

  secret_id = google_secret_manager_secret.fivetran_api_secret[count.index].id
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.sweep.email}"
}

resource "google_secret_manager_secret_iam_member" "airbyte_api_client_id_accessor" {
  count = length(google_secret_manager_secret.airbyte_api_client_id)

  secret_id = google_secret_manager_secret.airbyte_api_client_id[count.index].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.sweep.email}"
}

resource "google_secret_manager_secret_iam_member" "airbyte_api_client_id_lister" {
  count = length(google_secret_manager_secret.airbyte_api_client_id)

  secret_id = google_secret_manager_secret.airbyte_api_client_id[count.index].id
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.sweep.email}"
}

resource "google_secret_manager_secret_iam_member" "airbyte_api_client_secret_accessor" {
  count = length(google_secret_manager_secret.airbyte_api_client_secret)

  secret_id = google_secret_manager_secret.airbyte_api_client_secret[count.index].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.sweep.email}"
}

resource "google_secret_manager_secret_iam_member" "airbyte_api_client_secret_lister" {
  count = length(google_secret_manager_secret.airbyte_api_client_secret)

  secret_id = google_secret_manager_secret.airbyte_api_client_secret[count.index].id
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.sweep.email}"
}

# --- Firestore: what the sweep queries, and what expires ---------------------------------

# Freshness documents due, narrowed to the vendors whose API could be read this tick:
#   freshness where source in [...] and nextCheckAt <= now order by nextCheckAt
resource "google_firestore_index" "freshness_due_by_source" {
  database    = "(default)"
  collection  = var.freshness_collection
  query_scope = "COLLECTION"

  fields {
    field_path = "source"
    order      = "ASCENDING"
  }

  fields {
    field_path = "nextCheckAt"
    order      = "ASCENDING"
  }

  depends_on = [google_firestore_database.database, google_project_service.apis]
}

# A connector's state changes and incidents (sub-collections of its freshness document)
# carry expireAt: the audit retention after they were written or closed.
resource "google_firestore_field" "freshness_changes_expire_at" {
  database   = "(default)"
  collection = "freshnessChanges"
  field      = "expireAt"

  ttl_config {}
  index_config {}

  depends_on = [google_firestore_database.database, google_project_service.apis]
}

resource "google_firestore_field" "freshness_incidents_expire_at" {
  database   = "(default)"
  collection = "freshnessIncidents"
  field      = "expireAt"

  ttl_config {}
  index_config {}

  depends_on = [google_firestore_database.database, google_project_service.apis]
}
