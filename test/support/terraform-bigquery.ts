import type { Value } from './hcl-eval.js';
import { asArray, firstBody, type Body, type TerraformConfig } from './terraform-checks.js';
import { instancesOf, plan } from './terraform-eval.js';

/**
 * Static checks of the sync history in BigQuery (terraform/bigquery.tf), evaluated with the
 * feature switched on: a Pub/Sub BigQuery subscription on the SyncEvent topic writes the
 * columns Pub/Sub writes with write_metadata into a table partitioned by publish time, with
 * a retention variable; the Pub/Sub service agent may write that table (and nothing wider),
 * before the subscription is created; everything hangs on one variable.
 */

/**
 * The columns Pub/Sub writes with write_metadata and no table or topic schema, and the
 * types it accepts for each (cloud.google.com/pubsub/docs/bigquery, "Write metadata").
 */
export const METADATA_COLUMNS: Record<string, string[]> = {
  subscription_name: ['STRING'],
  message_id: ['STRING'],
  publish_time: ['TIMESTAMP'],
  data: ['BYTES', 'STRING', 'JSON'],
  attributes: ['STRING', 'JSON'],
};

const EXAMPLE = { project_id: 'my-data-platform', dbt_cloud_account_id: '12345', routing_config_file: '../functions/local/routing.local.json' };

export function checkSyncHistory(config: TerraformConfig, { enableVariable = 'sync_history_enabled' } = {}): string[] {
  const problems: string[] = [];
  const exporting = config.resources.filter((r) => r.type === 'google_pubsub_subscription' && r.body.bigquery_config !== undefined);
  if (exporting.length === 0) return ['no google_pubsub_subscription writes to BigQuery (bigquery_config)'];
  if (!config.variables.has(enableVariable)) problems.push(`no variable "${enableVariable}" switches the sync history on`);
  const off = plan(config, { ...EXAMPLE, [enableVariable]: false });
  const on = plan(config, { ...EXAMPLE, [enableVariable]: true });
  const topicId = String((on.resource('google_pubsub_topic', 'sync_events') as Record<string, Value>).id);
  const agent = config.resources.find((r) => r.type === 'google_project_service_identity' && r.body.service === 'pubsub.googleapis.com');
  const agentMember = agent ? `\${google_project_service_identity.${agent.name}.member}` : undefined;

  for (const subscription of exporting) {
    const where = `${subscription.file}: google_pubsub_subscription.${subscription.name}`;
    const [instance] = instancesOf(on.resource(subscription.type, subscription.name));
    if (!instance) {
      problems.push(`${where} is not created with ${enableVariable} = true`);
      continue;
    }
    if (instancesOf(off.resource(subscription.type, subscription.name)).length !== 0) problems.push(`${where} is created with ${enableVariable} = false`);
    if (String(instance.topic) !== topicId) problems.push(`${where} reads ${String(instance.topic)}, not the SyncEvent topic ${topicId}`);
    const bigquery = firstBody(subscription.body.bigquery_config);
    if (on.value(bigquery.write_metadata) !== true) problems.push(`${where}: write_metadata must be true (the partition column publish_time and the attributes are metadata)`);
    for (const schemaOption of ['use_topic_schema', 'use_table_schema']) {
      if (bigquery[schemaOption] !== undefined && on.value(bigquery[schemaOption]) === true) problems.push(`${where}: ${schemaOption} would map SyncEvent fields to columns; the table keeps the SyncEvent as JSON`);
    }
    const tableName = /google_bigquery_table\.(\w+)/.exec(String(bigquery.table))?.[1];
    const table = config.resources.find((r) => r.type === 'google_bigquery_table' && r.name === tableName);
    if (!table) {
      problems.push(`${where}: bigquery_config.table names no google_bigquery_table declared here`);
      continue;
    }
    const tableWhere = `${table.file}: google_bigquery_table.${table.name}`;
    const [tableInstance] = instancesOf(on.resource(table.type, table.name));
    if (!tableInstance) {
      problems.push(`${tableWhere} is not created with ${enableVariable} = true`);
      continue;
    }
    const expectedTable = `${String(tableInstance.project)}.${String(tableInstance.dataset_id)}.${String(tableInstance.table_id)}`;
    if (String(on.value(bigquery.table)) !== expectedTable) problems.push(`${where}: bigquery_config.table is ${String(on.value(bigquery.table))}, not PROJECT.DATASET.TABLE of ${tableWhere} (${expectedTable})`);

    // Columns: exactly what Pub/Sub writes, in types it accepts.
    let columns: Array<{ name: string; type: string }> = [];
    try {
      columns = JSON.parse(String(tableInstance.schema)) as Array<{ name: string; type: string }>;
    } catch (error) {
      problems.push(`${tableWhere}: its schema is not JSON: ${String(error)}`);
    }
    const names = columns.map((c) => c.name).sort();
    if (JSON.stringify(names) !== JSON.stringify(Object.keys(METADATA_COLUMNS).sort())) problems.push(`${tableWhere}: columns ${names.join(', ')}; Pub/Sub writes ${Object.keys(METADATA_COLUMNS).join(', ')}`);
    for (const column of columns) {
      const allowed = METADATA_COLUMNS[column.name];
      if (allowed && !allowed.includes(column.type)) problems.push(`${tableWhere}: column ${column.name} is ${column.type}; Pub/Sub writes it as ${allowed.join(', ')}`);
    }

    // Partitioned by publish time, expiring after a retention variable.
    const partitioning = firstBody(table.body.time_partitioning);
    if (partitioning.field !== 'publish_time') problems.push(`${tableWhere} must be partitioned by publish_time (time_partitioning.field)`);
    if (partitioning.type !== 'DAY') problems.push(`${tableWhere} must be partitioned by day (time_partitioning.type = "DAY")`);
    const retention = [...String(partitioning.expiration_ms ?? '').matchAll(/var\.(\w+)/g)].map((m) => m[1]!);
    if (!retention.some((v) => /retention/.test(v))) problems.push(`${tableWhere}: time_partitioning.expiration_ms must come from a retention variable`);
    for (const variable of retention) {
      for (const [days, ms] of [[30, 30 * 86_400_000], [0, null]] as const) {
        const value = plan(config, { ...EXAMPLE, [enableVariable]: true, [variable]: days }).resource(table.type, table.name);
        const partition = firstBody((instancesOf(value)[0] as Record<string, Value>).time_partitioning as unknown as Body[]);
        if ((partition.expiration_ms ?? null) !== ms) problems.push(`${tableWhere}: with ${variable} = ${days} the partitions expire after ${String(partition.expiration_ms)} ms, not ${String(ms)}`);
      }
    }

    // The Pub/Sub service agent may write this table, granted before the subscription exists.
    const grants = config.resources.filter((r) => (r.type === 'google_bigquery_table_iam_member' || r.type === 'google_bigquery_dataset_iam_member') && r.body.member === agentMember && r.body.role === 'roles/bigquery.dataEditor');
    const onTable = grants.find((g) => JSON.stringify(g.body).includes(`google_bigquery_table.${table.name}`) || (g.type === 'google_bigquery_dataset_iam_member' && JSON.stringify(g.body).includes('google_bigquery_dataset.')));
    if (!onTable) problems.push(`${where}: the Pub/Sub service agent has no roles/bigquery.dataEditor on google_bigquery_table.${table.name}`);
    else if (!asArray(subscription.body.depends_on).map(String).includes(`\${${onTable.type}.${onTable.name}}`)) problems.push(`${where} must depend on ${onTable.type}.${onTable.name}: Pub/Sub checks the permission when the subscription is created`);
    if (config.resources.some((r) => r.type === 'google_project_iam_member' && r.body.member === agentMember && /bigquery/.test(String(r.body.role)))) {
      problems.push('the Pub/Sub service agent is granted a BigQuery role on the whole project: grant it on the table');
    }
  }
  return problems;
}
