# No output carries a secret: the Airbyte URL is given without its token, which the
# operator appends (?token=...) when registering it in Airbyte.

output "fivetran_webhook_url" {
  description = "Register this URL as the Fivetran webhook (with the secret stored in the Fivetran secret)."
  value       = "${google_cloudfunctions2_function.ingest.service_config[0].uri}/fivetran"
}

output "airbyte_webhook_url" {
  description = "The Airbyte webhook URL without its token: append ?token=<the Airbyte token secret's value> in Airbyte's notification settings."
  value       = "${google_cloudfunctions2_function.ingest.service_config[0].uri}/airbyte"
}

output "dbt_cloud_webhook_url" {
  description = "Register this URL as the dbt Cloud webhook's endpoint, then store the hmac_secret dbt Cloud shows in the dbt Cloud webhook secret."
  value       = "${google_cloudfunctions2_function.ingest.service_config[0].uri}/dbt-cloud"
}

output "ingest_url" {
  description = "Base URL of the ingest function."
  value       = google_cloudfunctions2_function.ingest.service_config[0].uri
}

output "sync_events_topic" {
  description = "Full name of the topic every SyncEvent is published to (what other teams subscribe to)."
  value       = google_pubsub_topic.sync_events.id
}

output "processor_subscription" {
  description = "The push subscription that feeds the processor."
  value       = google_pubsub_subscription.processor.id
}

output "dead_letter_topic" {
  description = "Topic that receives events the processor failed on max_delivery_attempts times."
  value       = google_pubsub_topic.dead_letter.id
}

output "dead_letter_subscription" {
  description = "Pull subscription that keeps the dead letters for inspection and replay, as its full id (projects/P/subscriptions/S), so gcloud never resolves it against another default project."
  value       = google_pubsub_subscription.dead_letter.id
}

output "team_subscriptions" {
  description = "Subscriptions created for other teams, by name."
  value       = { for name, s in google_pubsub_subscription.team : name => s.id }
}

output "ingest_function_name" {
  description = "Name of the ingest Cloud Function (HTTP)."
  value       = google_cloudfunctions2_function.ingest.name
}

output "processor_function_name" {
  description = "Name of the processor Cloud Function (fed by the push subscription)."
  value       = google_cloudfunctions2_function.processor.name
}

output "secret_ids" {
  description = "Secret Manager secrets whose values the operator adds (gcloud secrets versions add NAME --data-file=-)."
  value = merge(
    {
      FIVETRAN_WEBHOOK_SECRET  = google_secret_manager_secret.fivetran_webhook_secret.secret_id
      AIRBYTE_WEBHOOK_TOKEN    = google_secret_manager_secret.airbyte_webhook_token.secret_id
      DBT_CLOUD_WEBHOOK_SECRET = google_secret_manager_secret.dbt_cloud_webhook_secret.secret_id
      DBT_CLOUD_API_TOKEN      = google_secret_manager_secret.dbt_cloud_api_token.secret_id
      SYNC_EVENT_SIGNING_KEY   = google_secret_manager_secret.sync_event_signing_key.secret_id
    },
    # Present only when var.slack_enabled (a for over 0 or 1 instances keeps one object type).
    { for secret in google_secret_manager_secret.slack_webhook_url : "SLACK_WEBHOOK_URL" => secret.secret_id },
    { for id, secret in google_secret_manager_secret.slack_route_webhook : "routing: ${id}" => secret.secret_id },
  )
}

output "sync_history_table" {
  description = "The BigQuery table of the sync history (PROJECT.DATASET.TABLE), null unless sync_history_enabled."
  value       = var.sync_history_enabled ? "${var.project_id}.${google_bigquery_table.sync_events[0].dataset_id}.${google_bigquery_table.sync_events[0].table_id}" : null
}

output "service_accounts" {
  description = "The identities postload runs as."
  value = {
    ingest    = google_service_account.ingest.email
    processor = google_service_account.processor.email
    push      = google_service_account.push.email
    build     = google_service_account.build.email
  }
}

output "dashboard_url" {
  description = "The Cloud Monitoring dashboard (null when dashboard_enabled is false)."
  value       = var.dashboard_enabled ? "https://console.cloud.google.com/monitoring/dashboards/builder/${element(split("/", google_monitoring_dashboard.postload[0].id), 3)}?project=${var.project_id}" : null
}
