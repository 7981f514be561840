# Both functions deploy the same source; each instance runs its own entry point
# (FUNCTION_TARGET), and functions/index.ts loads only that function's code.
#
# NODE_ENV=production is a runtime setting only: the build (build_config) must not see it,
# or npm would skip the devDependencies that `npm run gcp-build` compiles with.

resource "google_cloudfunctions2_function" "ingest" {
  name        = local.ingest_function_name
  location    = var.region
  description = "postload: Fivetran, Airbyte and dbt Cloud webhooks to SyncEvents on Pub/Sub."

  build_config {
    runtime         = "nodejs22"
    entry_point     = local.ingest_entry_point
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory               = var.ingest_memory
    timeout_seconds                = var.ingest_timeout_seconds
    min_instance_count             = var.ingest_min_instances
    max_instance_count             = var.ingest_max_instances
    ingress_settings               = var.ingest_ingress
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.ingest.email

    environment_variables = {
      NODE_ENV                 = "production"
      LOG_LEVEL                = var.log_level
      GOOGLE_CLOUD_PROJECT     = var.project_id
      SYNC_EVENTS_TOPIC        = google_pubsub_topic.sync_events.name
      FIVETRAN_WEBHOOK_SECRET  = "sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.fivetran_webhook_secret.secret_id}"
      AIRBYTE_WEBHOOK_TOKEN    = "sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.airbyte_webhook_token.secret_id}"
      DBT_CLOUD_WEBHOOK_SECRET = "sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.dbt_cloud_webhook_secret.secret_id}"
      SYNC_EVENT_SIGNING_KEY   = "sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.sync_event_signing_key.secret_id}"
      MAX_BODY_BYTES           = tostring(var.max_body_bytes)
      PUBLISH_TIMEOUT_MS       = tostring(var.publish_timeout_ms)
      SECRET_CACHE_TTL_SECONDS = tostring(var.secret_cache_ttl_seconds)
      FIVETRAN_SOURCE_RANGES   = join(",", var.fivetran_source_ranges)
      AIRBYTE_SOURCE_RANGES    = join(",", var.airbyte_source_ranges)
      DBT_CLOUD_SOURCE_RANGES  = join(",", var.dbt_cloud_source_ranges)
      TRUSTED_PROXY_HOPS       = tostring(var.trusted_proxy_hops)
      STALE_EVENT_AGE_HOURS    = tostring(var.stale_event_age_hours)
      AUDIT_RETENTION_DAYS     = tostring(var.audit_retention_days)
      # The Slack app's buttons (/slack/actions, slack_app.tf): blank when var.slack_app_enabled is false.
      SLACK_SIGNING_SECRET     = var.slack_app_enabled ? "sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.slack_signing_secret[0].secret_id}" : ""
      SLACK_BOT_TOKEN          = var.slack_app_enabled ? "sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.slack_bot_token[0].secret_id}" : ""
      SLACK_ACTION_USERS       = join(",", var.slack_action_users)
      SLACK_ACTION_GROUPS      = join(",", var.slack_action_groups)
      SLACK_WEBHOOK_HOSTS      = join(",", var.slack_webhook_hosts)
      AUDIT_COLLECTION         = var.audit_collection
      FRESHNESS_COLLECTION     = var.freshness_collection
      DBT_CLOUD_BASE_URL       = var.dbt_cloud_base_url
      DBT_CLOUD_ACCOUNT_ID     = var.slack_app_enabled ? var.dbt_cloud_account_id : ""
      DBT_CLOUD_API_TOKEN      = var.slack_app_enabled ? "sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.dbt_cloud_api_token.secret_id}" : ""
    }
  }

  # The build and runtime accounts must hold their grants (publish, secrets, build) before
  # the build starts and the first request arrives: time_sleep waits after all of them.
  depends_on = [time_sleep.iam_propagation]

  lifecycle {
    # Two variables cannot be compared in a validation before Terraform 1.9.
    precondition {
      condition     = var.trusted_proxy_hops == 0 || var.ingest_ingress == "ALLOW_INTERNAL_AND_GCLB"
      error_message = "trusted_proxy_hops is ${var.trusted_proxy_hops}: the client address is then read from X-Forwarded-For entries a load balancer appended, and a direct call to the function's own URL could write them itself. Set ingest_ingress = \"ALLOW_INTERNAL_AND_GCLB\", so that requests arrive only through your load balancer, or trusted_proxy_hops = 0."
    }

    precondition {
      condition     = var.stale_event_age_hours < var.audit_retention_days * 24
      error_message = "stale_event_age_hours (${var.stale_event_age_hours}) must be shorter than audit_retention_days (${var.audit_retention_days} days, ${var.audit_retention_days * 24} hours): an event older than the retention could be a replay that no audit record remembers. Lower stale_event_age_hours or keep the audit trail longer."
    }
  }
}

resource "google_cloudfunctions2_function" "processor" {
  name        = local.processor_function_name
  location    = var.region
  description = "postload: SyncEvents to dbt Cloud runs, Slack alerts and the Firestore audit trail."

  build_config {
    runtime         = "nodejs22"
    entry_point     = local.processor_entry_point
    service_account = google_service_account.build.id

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  # No event_trigger: the Terraform-managed push subscription in pubsub.tf delivers the
  # events, so its retry and dead-letter policies are ours to set (see docs/design.md).
  service_config {
    available_memory               = var.processor_memory
    timeout_seconds                = var.processor_timeout_seconds
    min_instance_count             = var.processor_min_instances
    max_instance_count             = var.processor_max_instances
    ingress_settings               = var.processor_ingress
    all_traffic_on_latest_revision = true
    service_account_email          = google_service_account.processor.email

    environment_variables = {
      NODE_ENV                 = "production"
      LOG_LEVEL                = var.log_level
      GOOGLE_CLOUD_PROJECT     = var.project_id
      ROUTING_CONFIG           = local.routing_config_json
      DBT_CLOUD_BASE_URL       = var.dbt_cloud_base_url
      DBT_CLOUD_ACCOUNT_ID     = var.dbt_cloud_account_id
      DBT_CLOUD_API_TOKEN      = "sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.dbt_cloud_api_token.secret_id}"
      # Slack is optional: blank (unset for the processor) when var.slack_enabled is false.
      SLACK_WEBHOOK_URL        = var.slack_enabled ? "sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.slack_webhook_url[0].secret_id}" : ""
      SLACK_WEBHOOK_HOSTS      = join(",", var.slack_webhook_hosts)
      SLACK_LINK_HOSTS         = join(",", var.slack_link_hosts)
      # Slack app targets (slack_app.tf): blank when var.slack_app_enabled is false.
      SLACK_BOT_TOKEN          = var.slack_app_enabled ? "sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.slack_bot_token[0].secret_id}" : ""
      SLACK_STATUS_PAGE_URL    = var.slack_status_page_url
      SYNC_EVENT_SIGNING_KEY   = "sm://projects/${var.project_id}/secrets/${google_secret_manager_secret.sync_event_signing_key.secret_id}"
      AUDIT_COLLECTION         = var.audit_collection
      CONNECTORS_COLLECTION    = var.connectors_collection
      JOB_STATE_COLLECTION     = var.job_state_collection
      COALESCE_WINDOW_MS       = tostring(var.coalesce_window_ms)
      JOINS_COLLECTION         = var.joins_collection
      FOLLOWED_RUNS_COLLECTION = var.followed_runs_collection
      AUDIT_RETENTION_DAYS     = tostring(var.audit_retention_days)
      OUTBOUND_BUDGET_MS       = tostring(local.processor_outbound_budget_ms)
      ACTION_LEASE_SECONDS     = tostring(local.processor_action_lease_seconds)
      # The delivery that reaches the subscription's limit sends the final alert.
      MAX_DELIVERY_ATTEMPTS    = tostring(var.max_delivery_attempts)
      SECRET_CACHE_TTL_SECONDS = tostring(var.secret_cache_ttl_seconds)
    }
  }

  lifecycle {
    precondition {
      condition     = local.routing_config_bytes <= local.routing_config_max_bytes
      error_message = "The routing file ${var.routing_config_file} is ${local.routing_config_bytes} bytes compacted, more than the ${local.routing_config_max_bytes} bytes it may take of the processor's environment (32 KiB in total for every variable, a Cloud Run limit). Shorten it: fewer routes, shorter names."
    }

    precondition {
      condition     = var.slack_app_enabled || !local.routing_uses_slack_app
      error_message = "The routing file ${var.routing_config_file} posts through the Slack app (\"app\": {\"channel\": …}), but slack_app_enabled is false: set slack_app_enabled = true (docs/slack-app.md), or name webhooks instead."
    }
  }

  depends_on = [
    time_sleep.iam_propagation,
    google_firestore_database.database,
  ]
}

# Public: Fivetran, Airbyte and dbt Cloud call it from the internet. It authenticates every request
# itself (HMAC signature / token), so the Cloud Run service allows unauthenticated calls.
resource "google_cloud_run_service_iam_member" "ingest_public" {
  location = google_cloudfunctions2_function.ingest.location
  service  = google_cloudfunctions2_function.ingest.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# Private: only the push subscription's identity may invoke the processor.
resource "google_cloud_run_service_iam_member" "processor_push_invoker" {
  location = google_cloudfunctions2_function.processor.location
  service  = google_cloudfunctions2_function.processor.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.push.email}"
}
