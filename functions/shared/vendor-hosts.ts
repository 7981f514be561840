// The vendors' own addresses, the defaults of their base-URL settings. Kept apart from the
// clients so a function that only checks its settings (the ingest function at start-up)
// loads none of their HTTP code.

/** dbt Cloud's multi-tenant host (DBT_CLOUD_BASE_URL's default); others: emea.dbt.com, PREFIX.us1.dbt.com, … */
export const DBT_CLOUD_BASE_URL = 'https://cloud.getdbt.com';

/** Where Slack's Web API lives (docs.slack.dev/apis/web-api); SLACK_API_BASE_URL points elsewhere only for the local stand-in. */
export const SLACK_API_BASE_URL = 'https://slack.com/api';

/** Where incoming webhooks and interactivity response URLs live (https://api.slack.com/messaging/webhooks): the only origin postload posts to unless SLACK_WEBHOOK_HOSTS adds one. */
export const SLACK_WEBHOOK_ORIGIN = 'https://hooks.slack.com';
