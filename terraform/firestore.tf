# Firestore in native mode holds the audit trail (one document per SyncEvent) and the
# connector history. Each audit document carries `expireAt`; the TTL policy deletes it then.

resource "google_firestore_database" "database" {
  count = var.create_firestore_database ? 1 : 0

  name            = local.firestore_database
  location_id     = local.firestore_location
  type            = "FIRESTORE_NATIVE"
  deletion_policy = var.firestore_deletion_policy

  depends_on = [google_project_service.apis]
}

resource "google_firestore_field" "audit_expire_at" {
  database   = local.firestore_database
  collection = var.audit_collection
  field      = "expireAt"

  ttl_config {}

  # No single-field indexes on the TTL timestamp: nothing queries it, and indexing a
  # monotonically increasing timestamp only adds write cost.
  index_config {}

  depends_on = [google_firestore_database.database, google_project_service.apis]
}

# quarantineAlerts/<day>-<source>:<vendor event>:<problem code> keeps a quarantine
# problem to one Slack alert per UTC day; each carries expireAt (8 days after creation).
# The collection name is fixed in the code (functions/processor/store/quarantine-alert-documents.ts).
resource "google_firestore_field" "quarantine_alerts_expire_at" {
  database   = local.firestore_database
  collection = "quarantineAlerts"
  field      = "expireAt"

  ttl_config {}
  index_config {}

  depends_on = [google_firestore_database.database, google_project_service.apis]
}

# A run target's state (its lease document and its run log `<id>#runs`, one collection;
# issues 12 and 26) and a join's state carry expireAt: their last write plus the audit
# retention (at least a day past the longest join window), so a job or join no longer used
# is deleted; one still in use keeps pushing it out.
resource "google_firestore_field" "job_state_expire_at" {
  database   = local.firestore_database
  collection = var.job_state_collection
  field      = "expireAt"

  ttl_config {}
  index_config {}

  depends_on = [google_firestore_database.database, google_project_service.apis]
}

resource "google_firestore_field" "joins_expire_at" {
  database   = local.firestore_database
  collection = var.joins_collection
  field      = "expireAt"

  ttl_config {}
  index_config {}

  depends_on = [google_firestore_database.database, google_project_service.apis]
}

# The sync history of one connector, newest first:
#   syncEvents where connectorId == C order by occurredAt desc
resource "google_firestore_index" "audit_connector_history" {
  database    = local.firestore_database
  collection  = var.audit_collection
  query_scope = "COLLECTION"

  fields {
    field_path = "connectorId"
    order      = "ASCENDING"
  }

  fields {
    field_path = "occurredAt"
    order      = "DESCENDING"
  }

  depends_on = [google_firestore_database.database, google_project_service.apis]
}

# The status page and `postload events` (functions/read-model/event-query.ts) filter the
# audit trail by one field in Firestore, newest first, and apply the other filters to the
# records read; each such field needs its index with occurredAt descending (connectorId's
# is above). Every query's index is checked against these by test/unit/read-model/indexes.test.ts.
#   syncEvents where <field> == X and occurredAt in [since, until) order by occurredAt desc
resource "google_firestore_index" "audit_by_type" {
  database    = local.firestore_database
  collection  = var.audit_collection
  query_scope = "COLLECTION"

  fields {
    field_path = "type"
    order      = "ASCENDING"
  }

  fields {
    field_path = "occurredAt"
    order      = "DESCENDING"
  }

  depends_on = [google_firestore_database.database, google_project_service.apis]
}

resource "google_firestore_index" "audit_by_sync_status" {
  database    = local.firestore_database
  collection  = var.audit_collection
  query_scope = "COLLECTION"

  fields {
    field_path = "syncStatus"
    order      = "ASCENDING"
  }

  fields {
    field_path = "occurredAt"
    order      = "DESCENDING"
  }

  depends_on = [google_firestore_database.database, google_project_service.apis]
}

resource "google_firestore_index" "audit_by_source" {
  database    = local.firestore_database
  collection  = var.audit_collection
  query_scope = "COLLECTION"

  fields {
    field_path = "source"
    order      = "ASCENDING"
  }

  fields {
    field_path = "occurredAt"
    order      = "DESCENDING"
  }

  depends_on = [google_firestore_database.database, google_project_service.apis]
}

# The processor's outcome (received, retrying, processed, failed, invalid) is stored as `status`.
resource "google_firestore_index" "audit_by_outcome" {
  database    = local.firestore_database
  collection  = var.audit_collection
  query_scope = "COLLECTION"

  fields {
    field_path = "status"
    order      = "ASCENDING"
  }

  fields {
    field_path = "occurredAt"
    order      = "DESCENDING"
  }

  depends_on = [google_firestore_database.database, google_project_service.apis]
}

# The status page's header count "runs failed (24 h)" for the runs the sweep follows to their
# end (Cloud Run executions, Airflow DAG runs; dbt Cloud's are counted from their run events):
#   followedRuns where outcome.status == "failed" and outcome.finishedAt >= <24 h ago> (count)
resource "google_firestore_index" "followed_runs_failed" {
  database    = local.firestore_database
  collection  = var.followed_runs_collection
  query_scope = "COLLECTION"

  fields {
    field_path = "outcome.status"
    order      = "ASCENDING"
  }

  fields {
    field_path = "outcome.finishedAt"
    order      = "DESCENDING"
  }

  depends_on = [google_firestore_database.database, google_project_service.apis]
}
