# The optional Slack app (issue 31; docs/slack-app.md). Incoming webhooks stay the default;
# with slack_app_enabled the routing file may name Slack app targets (slack.app: a channel),
# which the processor and the sweep post to with the bot token, and the app's buttons call
# the ingest function's /slack/actions route, verified with the signing secret.
#
# What the ingest function gains with it, and why: the signing secret (every button press
# is verified before anything is read); the bot token (user groups in slack_action_groups,
# and the note in the message's thread); Firestore in postload's database (each press is
# recorded in the audit collection with who pressed it, which also makes it act once, and
# "snooze" sets the freshness pause); and the dbt Cloud API token ("retry this dbt run").
# None of it is reachable without Slack's signature, and none of it is granted when the
# app is off.

variable "slack_app_enabled" {
  description = "Create the Slack app's secrets (<name_prefix>-slack-bot-token, <name_prefix>-slack-signing-secret) and give the functions what app targets and buttons need (docs/slack-app.md). false: incoming webhooks only."
  type        = bool
  default     = false
}

variable "slack_action_users" {
  description = "Slack user ids (U…, W…) who may press postload's buttons (snooze a connector, retry a dbt run). With slack_action_groups empty too, nobody may."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.slack_action_users : can(regex("^[UW][A-Z0-9]{2,40}$", id))])
    error_message = "slack_action_users: each entry is a Slack user id such as U0123ABCD (a profile's \"Copy member ID\")."
  }
}

variable "slack_action_groups" {
  description = "Slack user group ids (S…) whose members may press postload's buttons; read with the bot token (scope usergroups:read)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.slack_action_groups : can(regex("^S[A-Z0-9]{2,40}$", id))])
    error_message = "slack_action_groups: each entry is a Slack user group id such as S0123ABCD."
  }
}

variable "slack_status_page_url" {
  description = "Where operators open postload's status page (postload ui), e.g. http://127.0.0.1:8089: Slack app messages then carry an \"open in the status page\" button to the event, connector or run. Empty: no such button."
  type        = string
  default     = ""

  validation {
    condition     = var.slack_status_page_url == "" || can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?$", var.slack_status_page_url))
    error_message = "slack_status_page_url: an http(s) URL without query or credentials, such as http://127.0.0.1:8089, or empty."
  }
}

locals {
  # A Slack app target anywhere in the routing file ("app": {…} exists only there, as a slack object's key):
  # the processor would refuse to start without the bot token, so plan refuses first.
  routing_uses_slack_app = strcontains(local.routing_config_json, "\"app\":{")
}

# --- the bot token (xoxb-…): the processor and the sweep post with it, ingest reads user groups -----

resource "google_secret_manager_secret" "slack_bot_token" {
  count = var.slack_app_enabled ? 1 : 0

  secret_id = "${var.name_prefix}-slack-bot-token"

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "slack_bot_token_ingest_accessor" {
  count = var.slack_app_enabled ? 1 : 0

  secret_id = google_secret_manager_secret.slack_bot_token[0].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.ingest.email}"
}

resource "google_secret_manager_secret_iam_member" "slack_bot_token_ingest_lister" {
  count = var.slack_app_enabled ? 1 : 0

  secret_id = google_secret_manager_secret.slack_bot_token[0].id
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.ingest.email}"
}

resource "google_secret_manager_secret_iam_member" "slack_bot_token_processor_accessor" {
  count = var.slack_app_enabled ? 1 : 0

  secret_id = google_secret_manager_secret.slack_bot_token[0].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.processor.email}"
}

resource "google_secret_manager_secret_iam_member" "slack_bot_token_processor_lister" {
  count = var.slack_app_enabled ? 1 : 0

  secret_id = google_secret_manager_secret.slack_bot_token[0].id
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.processor.email}"
}

resource "google_secret_manager_secret_iam_member" "slack_bot_token_sweep_accessor" {
  count = var.slack_app_enabled ? 1 : 0

  secret_id = google_secret_manager_secret.slack_bot_token[0].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.sweep.email}"
}

resource "google_secret_manager_secret_iam_member" "slack_bot_token_sweep_lister" {
  count = var.slack_app_enabled ? 1 : 0

  secret_id = google_secret_manager_secret.slack_bot_token[0].id
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.sweep.email}"
}

# --- the signing secret: the ingest function verifies every button press with it ----------

resource "google_secret_manager_secret" "slack_signing_secret" {
  count = var.slack_app_enabled ? 1 : 0

  secret_id = "${var.name_prefix}-slack-signing-secret"

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_iam_member" "slack_signing_secret_accessor" {
  count = var.slack_app_enabled ? 1 : 0

  secret_id = google_secret_manager_secret.slack_signing_secret[0].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.ingest.email}"
}

resource "google_secret_manager_secret_iam_member" "slack_signing_secret_lister" {
  count = var.slack_app_enabled ? 1 : 0

  secret_id = google_secret_manager_secret.slack_signing_secret[0].id
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.ingest.email}"
}

# --- "retry this dbt run": the ingest function reads the dbt Cloud API token ---------------

resource "google_secret_manager_secret_iam_member" "dbt_cloud_api_token_ingest_accessor" {
  count = var.slack_app_enabled ? 1 : 0

  secret_id = google_secret_manager_secret.dbt_cloud_api_token.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.ingest.email}"
}

resource "google_secret_manager_secret_iam_member" "dbt_cloud_api_token_ingest_lister" {
  count = var.slack_app_enabled ? 1 : 0

  secret_id = google_secret_manager_secret.dbt_cloud_api_token.id
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.ingest.email}"
}

# --- the record of each press, and "snooze": Firestore, postload's database only ------------

resource "google_project_iam_member" "ingest_firestore" {
  count = var.slack_app_enabled ? 1 : 0

  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.ingest.email}"

  condition {
    title       = "postload Firestore database"
    description = "Only the database postload keeps its audit trail in: the Slack app's button presses are recorded there."
    expression  = "resource.name == \"projects/${var.project_id}/databases/${local.firestore_database}\""
  }
}
