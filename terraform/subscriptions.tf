# Subscriptions for other teams (var.team_subscriptions): pull, or push to their endpoint,
# optionally filtered on the SyncEvent attributes (source, type, connector id, status, ...).

locals {
  team_subscriptions = { for s in var.team_subscriptions : s.name => s }

  team_subscription_members = {
    for pair in flatten([
      for s in var.team_subscriptions : [
        for principal in s.principals : { subscription = s.name, member = principal }
      ]
    ]) : "${pair.subscription} ${pair.member}" => pair
  }
}

resource "google_pubsub_subscription" "team" {
  for_each = local.team_subscriptions

  name   = each.key
  topic  = google_pubsub_topic.sync_events.id
  filter = each.value.filter

  ack_deadline_seconds       = each.value.ack_deadline_seconds
  message_retention_duration = each.value.message_retention

  dynamic "push_config" {
    for_each = each.value.push_endpoint == null ? [] : [each.value]

    content {
      push_endpoint = push_config.value.push_endpoint

      dynamic "oidc_token" {
        for_each = push_config.value.push_service_account == null ? [] : [push_config.value.push_service_account]

        content {
          service_account_email = oidc_token.value
        }
      }
    }
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_subscription_iam_member" "team_subscriber" {
  for_each = local.team_subscription_members

  subscription = google_pubsub_subscription.team[each.value.subscription].id
  role         = "roles/pubsub.subscriber"
  member       = each.value.member
}
