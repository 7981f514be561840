# Airbyte cannot sign its webhooks: its token travels in the URL (?token=), and Cloud Run's
# request log records every URL in httpRequest.requestUrl. Anyone who may read the logs
# could then forge Airbyte events. Those entries are excluded from the _Default sink, so
# they are never stored: no postload endpoint takes a query string for anything else, so
# every ingest request with one is excluded, whatever its parameter is called or however
# it is encoded. postload's own log lines keep only the path (functions/shared/body-parsing.ts
# for refusals before the function runs, functions/ingest/handler.ts after).
#
# Exclusion rather than routing them to a restricted bucket: a stored token is a token
# someone can read (a bucket's readers, its exports, whoever is granted it later), while
# nothing needed is lost: postload logs every request itself (status, source, event id,
# latency), and the ingest 5xx alert counts run.googleapis.com/request_count, a metric
# exclusions do not touch. What is left (docs/webhooks.md, "The Airbyte token"): sinks at
# the folder or organisation level, and a load balancer's own request logs.
resource "google_logging_project_exclusion" "ingest_request_urls" {
  name        = "${var.name_prefix}-ingest-request-urls"
  description = "postload: the ingest function's request-log entries whose URL has a query string (Airbyte's ?token=)."
  filter      = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${google_cloudfunctions2_function.ingest.name}\" AND log_id(\"run.googleapis.com/requests\") AND httpRequest.requestUrl:\"?\""

  depends_on = [google_project_service.apis]
}
