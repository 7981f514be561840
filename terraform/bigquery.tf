# Sync history in BigQuery (optional, var.sync_history_enabled): every SyncEvent the topic
# carries, written by a Pub/Sub BigQuery subscription (cloud.google.com/pubsub/docs/bigquery).
# No postload code is in this path: Pub/Sub writes each message as it is published.
#
# The table keeps the SyncEvent as one JSON column beside the columns Pub/Sub writes with
# write_metadata, rather than a column per SyncEvent field generated from the schema:
# - the contract grows within v1 (new fields, new types; docs/syncevent.md). A generated
#   table would need a migration for every such release, and until then Pub/Sub would refuse
#   the messages ("not written and remain in the subscription's backlog") or drop the new
#   fields; a JSON column takes every version as it comes;
# - the payload is each vendor's own body, whose shape postload does not control;
# - BigQuery queries JSON with JSON_VALUE / JSON_QUERY, and the attributes column (also JSON)
#   holds the fields subscriptions filter on (source, type, connectorId, status, ...).
# The table is partitioned by publish_time, by day; sync_history_retention_days deletes old
# partitions (partition expiration).

locals {
  # BigQuery dataset ids take letters, digits and underscores only.
  sync_history_dataset_id = replace("${var.name_prefix}_sync_history", "-", "_")

  # What Pub/Sub writes with write_metadata and no table or topic schema
  # (cloud.google.com/pubsub/docs/bigquery, "Write metadata"; data may be BYTES, STRING or
  # JSON, attributes STRING or JSON).
  sync_history_columns = [
    { name = "subscription_name", type = "STRING", mode = "NULLABLE", description = "The BigQuery subscription that wrote the row." },
    { name = "message_id", type = "STRING", mode = "NULLABLE", description = "Pub/Sub's message id (a replayed event is a new message with the same SyncEvent id)." },
    { name = "publish_time", type = "TIMESTAMP", mode = "NULLABLE", description = "When ingest published the event: the partitioning column." },
    { name = "data", type = "JSON", mode = "NULLABLE", description = "The SyncEvent (schemas/sync-event.v1.schema.json)." },
    { name = "attributes", type = "JSON", mode = "NULLABLE", description = "The message attributes: eventId, source, type, connectorId, connectorName, destinationId, status, ..." },
  ]
}

resource "google_bigquery_dataset" "sync_history" {
  count = var.sync_history_enabled ? 1 : 0

  dataset_id  = local.sync_history_dataset_id
  location    = coalesce(var.sync_history_location, var.region)
  description = "postload: every SyncEvent published on ${var.sync_events_topic_name}, written by a Pub/Sub BigQuery subscription."
  labels      = var.labels

  depends_on = [google_project_service.apis]
}

resource "google_bigquery_table" "sync_events" {
  count = var.sync_history_enabled ? 1 : 0

  dataset_id          = google_bigquery_dataset.sync_history[0].dataset_id
  table_id            = "sync_events"
  description         = "One row per SyncEvent message (data: the SyncEvent as JSON). Queries: docs/sync-history.md in the postload repository."
  labels              = var.labels
  deletion_protection = var.sync_history_deletion_protection

  time_partitioning {
    type  = "DAY"
    field = "publish_time"
    # 0: partitions are kept until someone deletes them.
    expiration_ms = var.sync_history_retention_days > 0 ? var.sync_history_retention_days * 86400000 : null
  }

  schema = jsonencode(local.sync_history_columns)
}

# Pub/Sub writes as its service agent: it needs to write rows and read the table's metadata
# (roles/bigquery.dataEditor), on this table only.
resource "google_bigquery_table_iam_member" "sync_history_writer" {
  count = var.sync_history_enabled ? 1 : 0

  dataset_id = google_bigquery_table.sync_events[0].dataset_id
  table_id   = google_bigquery_table.sync_events[0].table_id
  role       = "roles/bigquery.dataEditor"
  member     = google_project_service_identity.pubsub.member
}

resource "google_pubsub_subscription" "sync_history" {
  count = var.sync_history_enabled ? 1 : 0

  name  = "${var.name_prefix}-sync-history"
  topic = google_pubsub_topic.sync_events.id

  bigquery_config {
    table          = "${google_bigquery_table.sync_events[0].project}.${google_bigquery_table.sync_events[0].dataset_id}.${google_bigquery_table.sync_events[0].table_id}"
    write_metadata = true
  }

  # Messages BigQuery cannot take (the table deleted, a permission lost) wait here for 7
  # days, then are dropped; the topic's own retention can replay them by seek.
  message_retention_duration = "604800s"

  expiration_policy {
    ttl = ""
  }

  depends_on = [google_bigquery_table_iam_member.sync_history_writer]
}
