locals {
  ingest_function_name    = "${var.name_prefix}-ingest"
  processor_function_name = "${var.name_prefix}-processor"

  # Entry points: the names functions/index.ts registers with the Functions Framework.
  ingest_entry_point    = "ingestWebhook"
  processor_entry_point = "processSyncEvent"

  firestore_location = coalesce(var.firestore_location, var.region)
  # The database every Firestore resource and the processor's grant name: the project's (default).
  firestore_database = "(default)"

  # Pub/Sub waits this long for the processor's answer before it counts a delivery as failed.
  push_ack_deadline_seconds = min(600, var.processor_timeout_seconds + 30)

  # All dbt Cloud and Slack calls of one invocation must end well inside the function's
  # timeout; a claimed action stays reserved longer than any invocation can run.
  processor_outbound_budget_ms   = floor(var.processor_timeout_seconds * 0.75) * 1000
  processor_action_lease_seconds = var.processor_timeout_seconds + 30

  # The routing file, compacted, passed to the processor as inline JSON in ROUTING_CONFIG.
  # A function's environment holds at most 32 KiB in total (names and values), so the
  # routing file gets that minus a reserve for the other variables (about 1 KiB today),
  # checked at plan time by a precondition on the processor. Bytes, not characters:
  # base64 of the UTF-8 text is 4 characters per 3 bytes (over by at most 2 for padding).
  routing_config_json      = jsonencode(jsondecode(file(var.routing_config_file)))
  routing_config_bytes     = floor(length(base64encode(local.routing_config_json)) * 3 / 4)
  routing_config_max_bytes = 32768 - 4096
}
