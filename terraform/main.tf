data "google_project" "this" {
  project_id = var.project_id
}

locals {
  ingest_function_name    = "${var.name_prefix}-ingest"
  processor_function_name = "${var.name_prefix}-processor"

  # Entry points: the names functions/index.ts registers with the Functions Framework.
  ingest_entry_point    = "ingestWebhook"
  processor_entry_point = "processSyncEvent"

  firestore_location = coalesce(var.firestore_location, var.region)

  # Pub/Sub waits this long for the processor's answer before it counts a delivery as failed.
  push_ack_deadline_seconds = min(600, var.processor_timeout_seconds + 30)

  # The Google-managed identity Pub/Sub acts as when it dead-letters and mints push tokens.
  pubsub_service_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  # All dbt Cloud and Slack calls of one invocation must end well inside the function's
  # timeout; a claimed action stays reserved longer than any invocation can run.
  processor_outbound_budget_ms   = floor(var.processor_timeout_seconds * 0.75) * 1000
  processor_action_lease_seconds = var.processor_timeout_seconds + 30

  # The routing file, compacted, passed to the processor as inline JSON.
  routing_config_json = jsonencode(jsondecode(file(var.routing_config_file)))
}
