# ---------------------------------------------------------------------------------------
# Where postload runs
# ---------------------------------------------------------------------------------------

variable "project_id" {
  description = "Google Cloud project that hosts postload (its ID, not its number)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID: 6-30 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "region" {
  description = "Region of the functions, the source bucket and (unless firestore_location says otherwise) Firestore."
  type        = string
  default     = "europe-west1"

  # Every Cloud Run region has this shape (cloud.google.com/run/docs/locations: europe-west10,
  # northamerica-northeast2, me-central2, ...); whether Google offers it is the API's answer.
  validation {
    condition     = can(regex("^[a-z]+(-[a-z]+)+[0-9]+$", var.region))
    error_message = "region must be a Cloud Run region such as europe-west1, europe-west10 or northamerica-northeast1."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name (functions, service accounts, secrets, subscriptions)."
  type        = string
  default     = "postload"

  validation {
    # Service account IDs are at most 30 characters; the longest suffix used is "-processor" (10).
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-20 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "labels" {
  description = "Labels added to every resource that takes labels."
  type        = map(string)
  default     = {}

  # https://cloud.google.com/resource-manager/docs/labels-overview#requirements: at most 64;
  # keys 1-63 lowercase letters (international ones too), digits, _ and -, starting with a
  # letter; values 0-63 of the same.
  validation {
    condition = length(var.labels) <= 64 && alltrue([
      for key, value in var.labels :
      can(regex("^\\p{Ll}[\\p{Ll}\\p{Lo}0-9_-]{0,62}$", key)) && can(regex("^[\\p{Ll}\\p{Lo}0-9_-]{0,63}$", value))
    ])
    error_message = "labels: at most 64; keys start with a lowercase letter and, like values, hold at most 63 lowercase letters, digits, underscores or hyphens."
  }
}

# ---------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------

variable "ingest_memory" {
  description = "Memory of the ingest function (Cloud Run notation: 256Mi, 512Mi, 1Gi, ...)."
  type        = string
  default     = "256Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.ingest_memory))
    error_message = "ingest_memory must look like 256Mi or 1Gi."
  }
}

variable "ingest_timeout_seconds" {
  description = "Request timeout of the ingest function. Fivetran gives up after about 10 s; the function answers well before."
  type        = number
  default     = 30

  validation {
    condition     = var.ingest_timeout_seconds >= 1 && var.ingest_timeout_seconds <= 3600
    error_message = "ingest_timeout_seconds must be between 1 and 3600."
  }
}

variable "ingest_min_instances" {
  description = "Instances of the ingest function kept warm (0 scales to zero; 1 removes most cold starts for a small cost)."
  type        = number
  default     = 0

  validation {
    condition     = var.ingest_min_instances >= 0 && floor(var.ingest_min_instances) == var.ingest_min_instances
    error_message = "ingest_min_instances must be a whole number, 0 or more."
  }
}

variable "ingest_max_instances" {
  description = "Upper bound of ingest function instances."
  type        = number
  default     = 20

  validation {
    condition     = var.ingest_max_instances >= 1 && floor(var.ingest_max_instances) == var.ingest_max_instances
    error_message = "ingest_max_instances must be a whole number, 1 or more."
  }
}

variable "ingest_ingress" {
  description = "Ingress of the ingest function. ALLOW_ALL (the default) lets Fivetran, Airbyte and dbt Cloud call its own URL. ALLOW_INTERNAL_AND_GCLB accepts requests only through a Google external Application Load Balancer (and from inside the project), which trusted_proxy_hops > 0 requires: otherwise a direct call could forge the X-Forwarded-For entries the source ranges are checked on (https://cloud.google.com/run/docs/securing/ingress)."
  type        = string
  default     = "ALLOW_ALL"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.ingest_ingress)
    error_message = "ingest_ingress must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "processor_memory" {
  description = "Memory of the processor function (Cloud Run notation)."
  type        = string
  default     = "512Mi"

  validation {
    condition     = can(regex("^[0-9]+(Mi|Gi)$", var.processor_memory))
    error_message = "processor_memory must look like 512Mi or 1Gi."
  }
}

variable "processor_timeout_seconds" {
  description = "Timeout of the processor function. The push subscription's acknowledgement deadline is set 30 s above it (at most 600 s)."
  type        = number
  default     = 120

  validation {
    condition     = var.processor_timeout_seconds >= 10 && var.processor_timeout_seconds <= 570 && floor(var.processor_timeout_seconds) == var.processor_timeout_seconds
    error_message = "processor_timeout_seconds must be a whole number between 10 and 570, so that Pub/Sub (at most 600 s) waits for the answer."
  }
}

variable "processor_min_instances" {
  description = "Instances of the processor function kept warm."
  type        = number
  default     = 0

  validation {
    condition     = var.processor_min_instances >= 0 && floor(var.processor_min_instances) == var.processor_min_instances
    error_message = "processor_min_instances must be a whole number, 0 or more."
  }
}

variable "processor_max_instances" {
  description = "Upper bound of processor function instances (also bounds the parallel load on dbt Cloud and Slack)."
  type        = number
  default     = 10

  validation {
    condition     = var.processor_max_instances >= 1 && floor(var.processor_max_instances) == var.processor_max_instances
    error_message = "processor_max_instances must be a whole number, 1 or more."
  }
}

variable "processor_ingress" {
  description = "Ingress of the processor. Only the push subscription's service account may invoke it either way; internal-only also refuses every request from outside Google Cloud. A Pub/Sub push from the same project counts as internal (https://cloud.google.com/run/docs/securing/ingress)."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.processor_ingress)
    error_message = "processor_ingress must be ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "log_level" {
  description = "Log level of both functions (pino levels)."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["trace", "debug", "info", "warn", "error", "fatal", "silent"], var.log_level)
    error_message = "log_level must be one of trace, debug, info, warn, error, fatal, silent."
  }
}

# ---------------------------------------------------------------------------------------
# Ingest settings
# ---------------------------------------------------------------------------------------

variable "max_body_bytes" {
  description = "Largest webhook body accepted; larger ones are answered 413. At most 1600000: the SyncEvent carries the payload (as escaped text when quarantined, up to six bytes a byte), and a Pub/Sub message holds at most 10 MB (the code caps MAX_BODY_BYTES the same way)."
  type        = number
  default     = 1048576

  validation {
    condition     = var.max_body_bytes >= 1024 && var.max_body_bytes <= 1600000 && floor(var.max_body_bytes) == var.max_body_bytes
    error_message = "max_body_bytes must be a whole number between 1024 and 1600000, so that the largest accepted body always fits one Pub/Sub message."
  }
}

variable "publish_timeout_ms" {
  description = "How long the ingest function waits for Pub/Sub to accept an event before answering 503 (the sender then retries)."
  type        = number
  default     = 8000

  validation {
    condition     = var.publish_timeout_ms >= 100 && var.publish_timeout_ms <= 60000 && floor(var.publish_timeout_ms) == var.publish_timeout_ms
    error_message = "publish_timeout_ms must be a whole number between 100 and 60000."
  }
}

variable "secret_cache_ttl_seconds" {
  description = "How long both functions cache secret values read from Secret Manager: a disabled version stops being accepted, and the processor sends a new one, within it. A freshly added version is picked up at once anyway when a request fails verification."
  type        = number
  default     = 300

  validation {
    condition     = var.secret_cache_ttl_seconds >= 0 && var.secret_cache_ttl_seconds <= 86400 && floor(var.secret_cache_ttl_seconds) == var.secret_cache_ttl_seconds
    error_message = "secret_cache_ttl_seconds must be a whole number between 0 and 86400."
  }
}

variable "fivetran_source_ranges" {
  description = "IPv4/IPv6 CIDR ranges Fivetran's webhooks come from (Fivetran publishes them per region); requests to /fivetran from elsewhere get 403. Empty: no restriction."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for range in var.fivetran_source_ranges : can(cidrhost(range, 0))])
    error_message = "fivetran_source_ranges must be CIDR ranges such as 35.234.176.0/20 (a single address is a /32 or /128)."
  }
}

variable "airbyte_source_ranges" {
  description = "IPv4/IPv6 CIDR ranges Airbyte Cloud's webhooks come from; requests to /airbyte from elsewhere get 403. Empty: no restriction (self-managed Airbyte: your own egress addresses)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for range in var.airbyte_source_ranges : can(cidrhost(range, 0))])
    error_message = "airbyte_source_ranges must be CIDR ranges such as 34.106.109.131/32."
  }
}

variable "dbt_cloud_source_ranges" {
  description = "IPv4/IPv6 CIDR ranges dbt Cloud's webhooks come from; requests to /dbt-cloud from elsewhere get 403. Empty: no restriction."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for range in var.dbt_cloud_source_ranges : can(cidrhost(range, 0))])
    error_message = "dbt_cloud_source_ranges must be CIDR ranges such as 52.45.144.63/32."
  }
}

variable "stale_event_age_hours" {
  description = "An event the ingest function receives more than this many hours after it happened (the vendor's time) is published marked stale, and the processor starts and alerts nothing for it: a captured webhook sent again once its audit record is gone must not run dbt jobs again. Must be shorter than audit_retention_days (checked at plan time); keep it above the vendors' retry windows (Fivetran retries for 24 hours)."
  type        = number
  default     = 48

  validation {
    condition     = var.stale_event_age_hours >= 1 && floor(var.stale_event_age_hours) == var.stale_event_age_hours
    error_message = "stale_event_age_hours must be a whole number of hours, 1 or more (and shorter than audit_retention_days)."
  }
}

variable "trusted_proxy_hops" {
  description = "Proxies of your own between Google's front end and the ingest function (1 behind a Google external Application Load Balancer); the client address is read that many X-Forwarded-For entries before the last."
  type        = number
  default     = 0

  validation {
    condition     = var.trusted_proxy_hops >= 0 && var.trusted_proxy_hops <= 10 && floor(var.trusted_proxy_hops) == var.trusted_proxy_hops
    error_message = "trusted_proxy_hops must be a whole number between 0 and 10."
  }
}

# ---------------------------------------------------------------------------------------
# Processor settings
# ---------------------------------------------------------------------------------------

variable "routing_config_file" {
  description = "Path to the routing JSON file (which connectors start which dbt Cloud jobs, what goes to Slack), relative to where terraform runs. Its content is passed to the processor as inline JSON."
  type        = string

  validation {
    condition     = fileexists(var.routing_config_file) && can(jsondecode(file(var.routing_config_file)))
    error_message = "routing_config_file must name an existing file that holds valid JSON."
  }
}

variable "dbt_cloud_base_url" {
  description = "dbt Cloud API host: https://cloud.getdbt.com, a regional host (https://emea.dbt.com, https://au.dbt.com) or an account-scoped one (https://ACCOUNT_PREFIX.us1.dbt.com)."
  type        = string
  default     = "https://cloud.getdbt.com"

  validation {
    condition     = can(regex("^https://[^/?#]+/?$", var.dbt_cloud_base_url))
    error_message = "dbt_cloud_base_url must be an https:// host with no path."
  }
}

variable "dbt_cloud_account_id" {
  description = "dbt Cloud account ID (the number in https://cloud.getdbt.com/deploy/ACCOUNT_ID/...)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]+$", var.dbt_cloud_account_id))
    error_message = "dbt_cloud_account_id must be the account's number."
  }
}

variable "audit_collection" {
  description = "Firestore collection of the audit trail (one document per SyncEvent). The TTL policy is set on this collection group."
  type        = string
  default     = "syncEvents"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,100}$", var.audit_collection)) && !can(regex("^__.*__$", var.audit_collection))
    error_message = "audit_collection must be a plain collection ID (letters, digits, _ and -, at most 100), not __…__ (reserved by Firestore)."
  }
}

variable "connectors_collection" {
  description = "Firestore collection with one document per connector (latest status, last successful sync)."
  type        = string
  default     = "connectors"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,100}$", var.connectors_collection)) && !can(regex("^__.*__$", var.connectors_collection))
    error_message = "connectors_collection must be a plain collection ID (letters, digits, _ and -, at most 100), not __…__ (reserved by Firestore)."
  }
}

variable "job_state_collection" {
  description = "Firestore collection of run-target state: per dbt job postload starts, a lease document (its batches) and a run log (coalescing, issues 12 and 26)."
  type        = string
  default     = "targetState"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,100}$", var.job_state_collection)) && !can(regex("^__.*__$", var.job_state_collection))
    error_message = "job_state_collection must be a plain collection ID (letters, digits, _ and -, at most 100), not __…__ (reserved by Firestore)."
  }
}

variable "coalesce_window_ms" {
  description = "How far apart the batches of one dbt job (per option set) close under a burst of loads, in ms: loads arriving within a window are covered by one run decision, and the job's state documents take about one write per window. A single load after a quiet spell waits 0.2 s at most."
  type        = number
  default     = 1000

  validation {
    condition     = var.coalesce_window_ms >= 50 && var.coalesce_window_ms <= 3000 && floor(var.coalesce_window_ms) == var.coalesce_window_ms
    error_message = "coalesce_window_ms must be a whole number from 50 to 3000 (at most half of the shortest processor deadline Terraform allows)."
  }
}

variable "joins_collection" {
  description = "Firestore collection with one document per join of the routing file (issue 12)."
  type        = string
  default     = "joins"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,100}$", var.joins_collection)) && !can(regex("^__.*__$", var.joins_collection))
    error_message = "joins_collection must be a plain collection ID (letters, digits, _ and -, at most 100), not __…__ (reserved by Firestore)."
  }
}

variable "audit_retention_days" {
  description = "Days an audit record is kept; Firestore's TTL policy deletes it after its expireAt (usually within a day of it)."
  type        = number
  default     = 90

  validation {
    condition     = var.audit_retention_days >= 1 && var.audit_retention_days <= 3650 && floor(var.audit_retention_days) == var.audit_retention_days
    error_message = "audit_retention_days must be a whole number from 1 to 3650 (the processor refuses more at start-up)."
  }
}

variable "slack_webhook_hosts" {
  description = "Origins other than https://hooks.slack.com that Slack webhook URLs (SLACK_WEBHOOK_URL, the routing file's webhooks) may point to, e.g. https://hooks.slack-gov.com. A webhook URL elsewhere is refused: at start-up when it is a value, when sending when it comes from Secret Manager."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for origin in var.slack_webhook_hosts : can(regex("^(https?://[A-Za-z0-9.-]+(:[0-9]+)?|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+)$", origin))])
    error_message = "slack_webhook_hosts: each entry is an origin (https://host or https://host:port, no path) or a host name (https is assumed)."
  }
}

variable "slack_link_hosts" {
  description = "Where links in postload's Slack messages may point besides the dbt Cloud host (dbt_cloud_base_url) and the vendors' own hosts (fivetran.com, airbyte.com): a self-managed Airbyte's origin such as https://airbyte.example.com. A link anywhere else is shown unlinked."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for origin in var.slack_link_hosts : can(regex("^(https?://[A-Za-z0-9.-]+(:[0-9]+)?|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+)$", origin))])
    error_message = "slack_link_hosts: each entry is an origin (https://host or https://host:port, no path) or a host name."
  }
}

# ---------------------------------------------------------------------------------------
# Firestore
# ---------------------------------------------------------------------------------------

variable "create_firestore_database" {
  description = "Create the project's (default) Firestore database in native mode. Set to false when the project already has one (it must be in native mode), including after a terraform destroy that abandoned it (see docs/deploy.md, Apply again after a destroy)."
  type        = bool
  default     = true
}

variable "firestore_location" {
  description = "Firestore location (a region such as europe-west1 or a multi-region such as eur3 / nam5). Defaults to var.region. Cannot change after creation."
  type        = string
  default     = null
}

variable "firestore_deletion_policy" {
  description = "What terraform destroy does to the Firestore database: ABANDON leaves it (and the audit trail) in place, DELETE deletes it."
  type        = string
  default     = "ABANDON"

  validation {
    condition     = contains(["ABANDON", "DELETE"], var.firestore_deletion_policy)
    error_message = "firestore_deletion_policy must be ABANDON or DELETE."
  }
}

# ---------------------------------------------------------------------------------------
# Pub/Sub
# ---------------------------------------------------------------------------------------

variable "sync_events_topic_name" {
  description = "Name of the topic every SyncEvent is published to; other teams subscribe to it."
  type        = string
  default     = "sync-events"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9._~%+-]{2,200}$", var.sync_events_topic_name)) && !startswith(lower(var.sync_events_topic_name), "goog")
    error_message = "sync_events_topic_name must be a valid Pub/Sub topic name (3-201 characters, starting with a letter, not with goog)."
  }
}

variable "topic_message_retention" {
  description = "How long the topics keep messages (also acknowledged ones), so a subscription can seek back and replay. Between 600s and 2678400s (31 days)."
  type        = string
  default     = "604800s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.topic_message_retention)) && try(tonumber(trimsuffix(var.topic_message_retention, "s")) >= 600 && tonumber(trimsuffix(var.topic_message_retention, "s")) <= 2678400, false)
    error_message = "topic_message_retention must be seconds like 604800s, between 600s and 2678400s."
  }
}

variable "max_delivery_attempts" {
  description = "Deliveries of one event to the processor before it is moved to the dead-letter topic."
  type        = number
  default     = 10

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100 && floor(var.max_delivery_attempts) == var.max_delivery_attempts
    error_message = "max_delivery_attempts must be between 5 and 100 (Pub/Sub's limits)."
  }
}

variable "retry_minimum_backoff" {
  description = "Shortest wait before Pub/Sub redelivers a failed event (exponential backoff starts here)."
  type        = string
  default     = "10s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.retry_minimum_backoff)) && try(tonumber(trimsuffix(var.retry_minimum_backoff, "s")) <= 600, false)
    error_message = "retry_minimum_backoff must be seconds like 10s, at most 600s."
  }
}

variable "retry_maximum_backoff" {
  description = "Longest wait between redeliveries of a failed event."
  type        = string
  default     = "600s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.retry_maximum_backoff)) && try(tonumber(trimsuffix(var.retry_maximum_backoff, "s")) <= 600, false)
    error_message = "retry_maximum_backoff must be seconds like 600s, at most 600s."
  }
}

variable "team_subscriptions" {
  description = <<-EOT
    Subscriptions to the sync-events topic for other teams. Each entry:
      name          subscription name (unique in the project)
      filter        optional Pub/Sub filter on the message attributes, e.g. attributes.source = "fivetran" AND attributes.type = "sync.succeeded"
      push_endpoint optional https URL; without it the subscription is a pull subscription
      push_service_account optional email of the service account whose OIDC token authenticates each push
      principals    who may consume it ("group:data@example.com", "serviceAccount:...")
      ack_deadline_seconds, message_retention optional
  EOT
  type = list(object({
    name                 = string
    filter               = optional(string)
    push_endpoint        = optional(string)
    push_service_account = optional(string)
    principals           = optional(list(string), [])
    ack_deadline_seconds = optional(number, 60)
    message_retention    = optional(string, "604800s")
  }))
  default = []

  validation {
    condition     = length(var.team_subscriptions) == length(distinct([for s in var.team_subscriptions : s.name]))
    error_message = "team_subscriptions names must be unique."
  }

  validation {
    condition     = alltrue([for s in var.team_subscriptions : can(regex("^[A-Za-z][A-Za-z0-9._~%+-]{2,254}$", s.name))])
    error_message = "Each team subscription name must be a valid Pub/Sub subscription name."
  }

  validation {
    condition     = alltrue([for s in var.team_subscriptions : s.ack_deadline_seconds >= 10 && s.ack_deadline_seconds <= 600 && floor(s.ack_deadline_seconds) == s.ack_deadline_seconds])
    error_message = "A team subscription's ack_deadline_seconds must be a whole number between 10 and 600 (Pub/Sub's limits)."
  }

  validation {
    condition     = alltrue([for s in var.team_subscriptions : s.push_endpoint == null || startswith(coalesce(s.push_endpoint, "-"), "https://")])
    error_message = "A team subscription's push_endpoint must be an https:// URL."
  }

  validation {
    condition = alltrue(flatten([for s in var.team_subscriptions : [
      for p in s.principals : can(regex("^(user|group|serviceAccount|domain|principal|principalSet):.+$", p))
    ]]))
    error_message = "Principals must be IAM members such as group:team@example.com or serviceAccount:sa@project.iam.gserviceaccount.com."
  }
}

variable "slack_enabled" {
  description = "Create the Slack webhook secret (<name_prefix>-slack-webhook-url) and give the processor SLACK_WEBHOOK_URL. false: no Slack. Every message postload would have sent there is logged instead (\"Slack message not sent\"), which the alert \"messages not sent to Slack\" matches. Per-route webhooks (slack_route_webhook_secrets) are not affected."
  type        = bool
  default     = true
}

variable "slack_route_webhook_secrets" {
  description = "IDs of additional Secret Manager secrets holding per-route Slack webhook URLs, which the routing file names as sm://ID (or sm://projects/PROJECT_ID/secrets/ID). Terraform creates the containers and lets the processor read them; add their values like the other secrets."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.slack_route_webhook_secrets : can(regex("^[A-Za-z0-9_-]{1,255}$", id))])
    error_message = "Secret IDs are 1-255 letters, digits, hyphens or underscores."
  }
}

variable "run_target_secrets" {
  description = "IDs of Secret Manager secrets the routing file's run targets name as sm://ID (or sm://projects/PROJECT_ID/secrets/ID): HTTP calls' signing secrets and header tokens, Airflow credentials. Terraform creates the containers and lets the processor and the sweep read them; add their values like the other secrets (docs/run-targets.md)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.run_target_secrets : can(regex("^[A-Za-z0-9_-]{1,255}$", id))])
    error_message = "Secret IDs are 1-255 letters, digits, hyphens or underscores."
  }
}

variable "followed_runs_collection" {
  description = "Firestore collection of the runs the sweep follows to their end (Cloud Run executions, Airflow DAG runs postload started): one document per run, deleted after audit_retention_days."
  type        = string
  default     = "followedRuns"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,100}$", var.followed_runs_collection)) && !can(regex("^__.*__$", var.followed_runs_collection))
    error_message = "followed_runs_collection must be a plain collection ID (letters, digits, _ and -, at most 100), not __…__ (reserved by Firestore)."
  }
}

# ---------------------------------------------------------------------------------------
# Sync history in BigQuery (bigquery.tf)
# ---------------------------------------------------------------------------------------

variable "sync_history_enabled" {
  description = "Write every SyncEvent to a BigQuery table (<name_prefix>_sync_history.sync_events) through a Pub/Sub BigQuery subscription, for SQL over the sync history (docs/sync-history.md)."
  type        = bool
  default     = false
}

variable "sync_history_retention_days" {
  description = "Days a day's partition of the sync history is kept (partition expiration); 0 keeps them until deleted."
  type        = number
  default     = 400

  validation {
    condition     = var.sync_history_retention_days >= 0 && var.sync_history_retention_days <= 36500 && floor(var.sync_history_retention_days) == var.sync_history_retention_days
    error_message = "sync_history_retention_days must be a whole number of days from 0 (keep) to 36500."
  }
}

variable "sync_history_location" {
  description = "BigQuery location of the sync history dataset (a region such as europe-west1, or US / EU). Defaults to var.region. Cannot change after creation."
  type        = string
  default     = null
}

variable "sync_history_deletion_protection" {
  description = "Refuse to delete the sync history table on terraform destroy (or when sync_history_enabled turns false). Set to false and apply before destroying it."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------
# First apply
# ---------------------------------------------------------------------------------------

variable "iam_propagation_wait" {
  description = "How long the functions wait after the IAM grants they rely on, so that Cloud Build and the runtime see them (IAM changes take up to a few minutes to propagate)."
  type        = string
  default     = "60s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.iam_propagation_wait)) && try(tonumber(trimsuffix(var.iam_propagation_wait, "s")) <= 600, false)
    error_message = "iam_propagation_wait must be seconds like 60s, at most 600s."
  }
}

# ---------------------------------------------------------------------------------------
# Alerts and dashboard (monitoring.tf; docs/operations.md, "Alerts and dashboard")
# ---------------------------------------------------------------------------------------

variable "alerts_enabled" {
  description = "Create the Cloud Monitoring alert policies (dead letters, processor backlog, ingest and processor 5xx, permanent action failures)."
  type        = bool
  default     = true
}

variable "dashboard_enabled" {
  description = "Create the Cloud Monitoring dashboard (terraform/dashboards/postload.json)."
  type        = bool
  default     = true
}

variable "alert_notification_channels" {
  description = "Notification channels every alert notifies, as full ids (projects/PROJECT/notificationChannels/ID) of channels created outside Terraform: email, Slack, PagerDuty. Empty: incidents only show in the console."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for channel in var.alert_notification_channels : can(regex("^projects/[^/]+/notificationChannels/[0-9]+$", channel))])
    error_message = "Each notification channel must be a full id: projects/PROJECT/notificationChannels/NUMBER (gcloud beta monitoring channels list --format='value(name)')."
  }
}

variable "alert_dead_letters_threshold" {
  description = "Alert when more dead letters than this wait in the dead-letter subscription (0: any)."
  type        = number
  default     = 0

  validation {
    condition     = var.alert_dead_letters_threshold >= 0 && floor(var.alert_dead_letters_threshold) == var.alert_dead_letters_threshold
    error_message = "alert_dead_letters_threshold must be a whole number, 0 or more."
  }
}

variable "alert_processor_oldest_message_age_seconds" {
  description = "Alert when the oldest unacknowledged event on the processor's subscription is older than this, for 5 minutes. An event that keeps failing ages too (backoff up to retry_maximum_backoff), so keep it well above a few retries."
  type        = number
  default     = 1800

  validation {
    condition     = var.alert_processor_oldest_message_age_seconds >= 60 && var.alert_processor_oldest_message_age_seconds <= 604800
    error_message = "alert_processor_oldest_message_age_seconds must be between 60 and 604800 (the subscription's 7-day retention)."
  }
}

variable "alert_ingest_5xx_ratio" {
  description = "Alert when more than this share (0-1) of the ingest function's answers over alert_ingest_5xx_window are 5xx (503s included: each one is a sender retrying)."
  type        = number
  default     = 0.05

  validation {
    condition     = var.alert_ingest_5xx_ratio >= 0 && var.alert_ingest_5xx_ratio < 1
    error_message = "alert_ingest_5xx_ratio must be at least 0 and below 1."
  }
}

variable "alert_ingest_5xx_window" {
  description = "Window over which the ingest 5xx share is measured."
  type        = string
  default     = "300s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.alert_ingest_5xx_window)) && try(tonumber(trimsuffix(var.alert_ingest_5xx_window, "s")) >= 60 && tonumber(trimsuffix(var.alert_ingest_5xx_window, "s")) <= 86400, false)
    error_message = "alert_ingest_5xx_window must be seconds like 300s, between 60s and 86400s."
  }
}

variable "alert_processor_5xx_count" {
  description = "Alert when the processor answers more than this many deliveries with 5xx within alert_processor_5xx_window (each is a redelivery)."
  type        = number
  default     = 10

  validation {
    condition     = var.alert_processor_5xx_count >= 0 && floor(var.alert_processor_5xx_count) == var.alert_processor_5xx_count
    error_message = "alert_processor_5xx_count must be a whole number, 0 or more."
  }
}

variable "alert_processor_5xx_window" {
  description = "Window over which the processor's 5xx answers are counted."
  type        = string
  default     = "900s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.alert_processor_5xx_window)) && try(tonumber(trimsuffix(var.alert_processor_5xx_window, "s")) >= 60 && tonumber(trimsuffix(var.alert_processor_5xx_window, "s")) <= 86400, false)
    error_message = "alert_processor_5xx_window must be seconds like 900s, between 60s and 86400s."
  }
}

variable "alert_on_permanent_action_failures" {
  description = "Also alert on every permanent action failure the processor logs (a dbt Cloud job that cannot start, a Slack webhook that is gone): the alert matches those log entries themselves, at most one notification per 5 minutes."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------
# The scheduled sweep: freshness and reconciliation (sweep.tf; docs/freshness.md)
# ---------------------------------------------------------------------------------------

variable "sweep_enabled" {
  description = "Run the scheduled sweep (freshness alerts, reconciliation). false pauses its Cloud Scheduler job."
  type        = bool
  default     = true
}

variable "sweep_interval_minutes" {
  description = "Minutes between two sweep ticks (Cloud Scheduler: */N * * * *). Alerts come at most this late; the cost per tick grows with the connectors that changed, not with their number."
  type        = number
  default     = 5

  validation {
    condition     = contains([1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60], var.sweep_interval_minutes)
    error_message = "sweep_interval_minutes must divide an hour evenly: 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60."
  }
}

variable "sweep_timeout_seconds" {
  description = "Timeout of one sweep tick. The sweep stops its own work at 80 % of it."
  type        = number
  default     = 240

  validation {
    condition     = var.sweep_timeout_seconds >= 60 && var.sweep_timeout_seconds <= 540 && floor(var.sweep_timeout_seconds) == var.sweep_timeout_seconds
    error_message = "sweep_timeout_seconds must be a whole number from 60 to 540."
  }
}

variable "sweep_memory" {
  description = "Memory of the sweep function."
  type        = string
  default     = "256Mi"

  validation {
    condition     = contains(["256Mi", "512Mi", "1Gi", "2Gi"], var.sweep_memory)
    error_message = "sweep_memory must be 256Mi, 512Mi, 1Gi or 2Gi."
  }
}

variable "freshness_collection" {
  description = "Firestore collection with one freshness document per connector (state, expectation and its source, incidents)."
  type        = string
  default     = "freshness"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,100}$", var.freshness_collection)) && !can(regex("^__.*__$", var.freshness_collection))
    error_message = "freshness_collection must be a plain collection ID (letters, digits, _ and -, at most 100), not __…__ (reserved by Firestore)."
  }
}

variable "sweep_collection" {
  description = "Firestore collection of the sweep's own documents (its progress, what each vendor API said last)."
  type        = string
  default     = "sweep"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,100}$", var.sweep_collection)) && !can(regex("^__.*__$", var.sweep_collection))
    error_message = "sweep_collection must be a plain collection ID (letters, digits, _ and -, at most 100), not __…__ (reserved by Firestore)."
  }
}

variable "fivetran_api_enabled" {
  description = "Create the secrets <name_prefix>-fivetran-api-key and -fivetran-api-secret and give them to the sweep: it then reads Fivetran's schedules and recovers syncs whose webhook never arrived. Add their values (a Fivetran API key and secret) like the other secrets."
  type        = bool
  default     = false
}

variable "fivetran_api_base_url" {
  description = "Fivetran REST API base URL."
  type        = string
  default     = "https://api.fivetran.com/v1"

  validation {
    condition     = can(regex("^https://[^?#]+$", var.fivetran_api_base_url))
    error_message = "fivetran_api_base_url must be an https:// URL with no query."
  }
}

variable "fivetran_group_id" {
  description = "Only the connections of this Fivetran destination group (\"\": all the API key sees)."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[A-Za-z0-9_]*$", var.fivetran_group_id))
    error_message = "fivetran_group_id must be a Fivetran group id (letters, digits, _)."
  }
}

variable "airbyte_api_enabled" {
  description = "Create the secrets <name_prefix>-airbyte-api-client-id and -airbyte-api-client-secret and give them to the sweep: it then reads Airbyte's schedules and jobs and recovers syncs whose webhook never arrived. Add their values (an Airbyte application's client id and secret) like the other secrets."
  type        = bool
  default     = false
}

variable "airbyte_api_base_url" {
  description = "Airbyte API base URL: https://api.airbyte.com/v1 for Airbyte Cloud, https://HOST/api/public/v1 for a self-managed Airbyte."
  type        = string
  default     = "https://api.airbyte.com/v1"

  validation {
    condition     = can(regex("^https?://[^?#]+$", var.airbyte_api_base_url))
    error_message = "airbyte_api_base_url must be an http(s):// URL with no query."
  }
}

variable "airbyte_workspace_ids" {
  description = "Airbyte workspaces to watch (UUIDs); empty: every workspace the application may read."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.airbyte_workspace_ids : can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", id))])
    error_message = "airbyte_workspace_ids must be workspace UUIDs."
  }
}

variable "reconcile_after_seconds" {
  description = "A sync the vendor finished is recovered only once its webhook is this overdue (Fivetran retries a failed delivery after 5 minutes)."
  type        = number
  default     = 900

  validation {
    condition     = var.reconcile_after_seconds >= 60 && var.reconcile_after_seconds <= 3600 && floor(var.reconcile_after_seconds) == var.reconcile_after_seconds
    error_message = "reconcile_after_seconds must be a whole number from 60 to 3600."
  }
}

variable "reconcile_lookback_hours" {
  description = "Syncs that ended longer ago are never recovered (their dbt run would come too late to matter)."
  type        = number
  default     = 24

  validation {
    condition     = var.reconcile_lookback_hours >= 2 && var.reconcile_lookback_hours <= 168 && floor(var.reconcile_lookback_hours) == var.reconcile_lookback_hours
    error_message = "reconcile_lookback_hours must be a whole number from 2 to 168."
  }
}

variable "vendor_api_timeout_ms" {
  description = "Each vendor API request is given up after this long; the vendor is then skipped for the tick."
  type        = number
  default     = 10000

  validation {
    condition     = var.vendor_api_timeout_ms >= 100 && var.vendor_api_timeout_ms <= 120000 && floor(var.vendor_api_timeout_ms) == var.vendor_api_timeout_ms
    error_message = "vendor_api_timeout_ms must be a whole number from 100 to 120000."
  }
}
