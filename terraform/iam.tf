# Least privilege: each identity gets the roles it uses, on the narrowest resource that
# takes an IAM policy. Secret bindings are in secrets.tf, invoker bindings in functions.tf.

# Cloud Build compiles the functions (npm ci, npm run gcp-build) as this account: it reads
# the uploaded source, writes logs and pushes the built images to Artifact Registry. Cloud
# Run Builder is the role Google documents for exactly that
# (https://cloud.google.com/run/docs/configuring/services/build-service-account): storage
# objects get, Artifact Registry upload/download/delete, log entries create. Not Cloud Build
# Builder, which also carries project-wide pubsub.topics.publish: every npm install script
# of a deploy runs as this account and must not be able to publish a SyncEvent.
resource "google_project_iam_member" "build" {
  for_each = toset([
    "roles/run.builder",
  ])

  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.build.email}"
}

# The ingest function publishes SyncEvents to the topic, and nothing else.
resource "google_pubsub_topic_iam_member" "ingest_publisher" {
  topic  = google_pubsub_topic.sync_events.id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${google_service_account.ingest.email}"
}

# The processor reads and writes the audit trail and connector documents in Firestore,
# in postload's database only: Firestore evaluates IAM Conditions on the database's
# resource name (https://cloud.google.com/firestore/docs/security/iam), so another
# database of the project stays out of reach.
resource "google_project_iam_member" "processor_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.processor.email}"

  condition {
    title       = "postload Firestore database"
    description = "Only the database postload keeps its audit trail in."
    expression  = "resource.name == \"projects/${var.project_id}/databases/${local.firestore_database}\""
  }
}

# The Pub/Sub service agent (service-NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com) is
# created some time after the API is first used, so on a brand-new project a grant to it
# can fail with "service account does not exist". Creating it explicitly (google-beta
# only) makes it exist before any grant; every grant below uses its `member`.
resource "google_project_service_identity" "pubsub" {
  provider = google-beta

  project = var.project_id
  service = "pubsub.googleapis.com"

  depends_on = [google_project_service.apis]
}

# Dead-lettering is done by the Pub/Sub service agent: it must be able to publish to the
# dead-letter topic and to acknowledge (subscribe to) the source subscription.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  topic  = google_pubsub_topic.dead_letter.id
  role   = "roles/pubsub.publisher"
  member = google_project_service_identity.pubsub.member
}

resource "google_pubsub_subscription_iam_member" "dead_letter_source_subscriber" {
  subscription = google_pubsub_subscription.processor.id
  role         = "roles/pubsub.subscriber"
  member       = google_project_service_identity.pubsub.member
}

# The Pub/Sub service agent signs the OIDC token of each push as the push identity
# (needed on projects created before April 2021; harmless on newer ones).
resource "google_service_account_iam_member" "push_token_creator" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_project_service_identity.pubsub.member
}

# IAM grants take up to a few minutes to reach every Google service. Cloud Functions 2nd
# gen builds read the source bucket as the build account right away, and the provider's
# own acceptance tests fail intermittently on exactly that ("Access to bucket
# gcf-v2-sources-... denied"). Both functions wait here after every grant their build and
# runtime identities rely on (the invoker grants come after the functions, by necessity).
resource "time_sleep" "iam_propagation" {
  create_duration = var.iam_propagation_wait

  depends_on = [
    google_project_iam_member.build,
    google_pubsub_topic_iam_member.ingest_publisher,
    google_project_iam_member.processor_firestore,
    google_project_iam_member.sweep_firestore,
    google_pubsub_topic_iam_member.sweep_publisher,
    google_secret_manager_secret_iam_member.sync_event_signing_key_sweep_accessor,
    google_secret_manager_secret_iam_member.sync_event_signing_key_sweep_lister,
    google_secret_manager_secret_iam_member.slack_webhook_url_sweep_accessor,
    google_secret_manager_secret_iam_member.slack_webhook_url_sweep_lister,
    google_secret_manager_secret_iam_member.slack_route_webhook_sweep_accessor,
    google_secret_manager_secret_iam_member.slack_route_webhook_sweep_lister,
    google_secret_manager_secret_iam_member.fivetran_api_key_accessor,
    google_secret_manager_secret_iam_member.fivetran_api_key_lister,
    google_secret_manager_secret_iam_member.fivetran_api_secret_accessor,
    google_secret_manager_secret_iam_member.fivetran_api_secret_lister,
    google_secret_manager_secret_iam_member.airbyte_api_client_id_accessor,
    google_secret_manager_secret_iam_member.airbyte_api_client_id_lister,
    google_secret_manager_secret_iam_member.airbyte_api_client_secret_accessor,
    google_secret_manager_secret_iam_member.airbyte_api_client_secret_lister,
    google_secret_manager_secret_iam_member.fivetran_webhook_secret_accessor,
    google_secret_manager_secret_iam_member.fivetran_webhook_secret_lister,
    google_secret_manager_secret_iam_member.airbyte_webhook_token_accessor,
    google_secret_manager_secret_iam_member.airbyte_webhook_token_lister,
    google_secret_manager_secret_iam_member.dbt_cloud_webhook_secret_accessor,
    google_secret_manager_secret_iam_member.dbt_cloud_webhook_secret_lister,
    google_secret_manager_secret_iam_member.dbt_cloud_api_token_accessor,
    google_secret_manager_secret_iam_member.dbt_cloud_api_token_lister,
    google_cloud_run_v2_job_iam_member.run_target,
    google_project_iam_member.composer_user,
    google_secret_manager_secret_iam_member.run_target_accessor,
    google_secret_manager_secret_iam_member.run_target_lister,
    google_secret_manager_secret_iam_member.slack_webhook_url_accessor,
    google_secret_manager_secret_iam_member.slack_webhook_url_lister,
    google_secret_manager_secret_iam_member.slack_route_webhook_accessor,
    google_secret_manager_secret_iam_member.slack_route_webhook_lister,
    google_secret_manager_secret_iam_member.sync_event_signing_key_ingest_accessor,
    google_secret_manager_secret_iam_member.sync_event_signing_key_ingest_lister,
    google_secret_manager_secret_iam_member.sync_event_signing_key_processor_accessor,
    google_secret_manager_secret_iam_member.sync_event_signing_key_processor_lister,
    google_secret_manager_secret_iam_member.slack_bot_token_ingest_accessor,
    google_secret_manager_secret_iam_member.slack_bot_token_ingest_lister,
    google_secret_manager_secret_iam_member.slack_bot_token_processor_accessor,
    google_secret_manager_secret_iam_member.slack_bot_token_processor_lister,
    google_secret_manager_secret_iam_member.slack_bot_token_sweep_accessor,
    google_secret_manager_secret_iam_member.slack_bot_token_sweep_lister,
    google_secret_manager_secret_iam_member.slack_signing_secret_accessor,
    google_secret_manager_secret_iam_member.slack_signing_secret_lister,
    google_secret_manager_secret_iam_member.dbt_cloud_api_token_ingest_accessor,
    google_secret_manager_secret_iam_member.dbt_cloud_api_token_ingest_lister,
    google_project_iam_member.ingest_firestore,
  ]
}
