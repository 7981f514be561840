/**
 * The Cloud Monitoring metric types and monitored-resource labels terraform/ may use in
 * alert and dashboard filters: the one list the static checks read. Each entry is as Google
 * documents it:
 * - metrics: https://cloud.google.com/monitoring/api/metrics_gcp_p_z (sections "run" and
 *   "pubsub"); Cloud Functions 2nd gen run as Cloud Run services, so their request metrics
 *   are Cloud Run's (https://cloud.google.com/functions/docs/monitoring).
 * - monitored resources and their labels: https://cloud.google.com/monitoring/api/resources
 *   (cloud_run_revision, pubsub_subscription).
 * - log-based metrics: logging.googleapis.com/user/NAME, written against the monitored
 *   resource of the log entries they count
 *   (https://cloud.google.com/logging/docs/logs-based-metrics).
 */

export interface DocumentedMetric {
  /** The monitored resource types the metric is written for. */
  resources: string[];
  /** The metric's own labels (metric.labels.KEY). */
  labels: string[];
}

export const MONITORED_RESOURCES: Record<string, string[]> = {
  cloud_run_revision: ['project_id', 'service_name', 'revision_name', 'location', 'configuration_name'],
  pubsub_subscription: ['project_id', 'subscription_id'],
};

export const DOCUMENTED_METRICS: Record<string, DocumentedMetric> = {
  // "Request count": DELTA INT64, labels response_code, response_code_class, route.
  'run.googleapis.com/request_count': { resources: ['cloud_run_revision'], labels: ['response_code', 'response_code_class', 'route'] },
  // "Request latencies": DELTA DISTRIBUTION in ms, same labels.
  'run.googleapis.com/request_latencies': { resources: ['cloud_run_revision'], labels: ['response_code', 'response_code_class', 'route'] },
  // "Unacked messages": GAUGE INT64, sampled every 60 s, no metric labels.
  'pubsub.googleapis.com/subscription/num_undelivered_messages': { resources: ['pubsub_subscription'], labels: [] },
  // "Oldest unacked message age": GAUGE INT64 in seconds, no metric labels.
  'pubsub.googleapis.com/subscription/oldest_unacked_message_age': { resources: ['pubsub_subscription'], labels: [] },
};

/** Log-based metrics count entries of the functions' logs, which Cloud Run writes against cloud_run_revision. */
export const LOG_BASED_METRIC_PREFIX = 'logging.googleapis.com/user/';
export const LOG_BASED_METRIC_RESOURCES = ['cloud_run_revision'];
