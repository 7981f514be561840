// The run targets' clients by kind, for the processor (which starts runs) and the sweep
// (which follows them and starts deferred ones): only the kinds the routing file names.
import { AirflowClient } from '../clients/airflow.js';
import { CloudRunClient } from '../clients/cloud-run.js';
import { DbtCloudClient } from '../clients/dbt-cloud.js';
import { accessTokensFor, runtimeAccessTokens, type AccessTokenSource } from '../clients/google-token.js';
import type { FetchLike, RetryPolicy } from '../clients/http-retry.js';
import { HttpTargetClient } from '../clients/http-target.js';
import type { DbtCloudSettings } from '../config.js';
import { airflowRuns } from './airflow-runs.js';
import { cloudRunRuns } from './cloud-run-runs.js';
import { dbtCloudRuns } from './dbt-cloud-runs.js';
import { httpRuns } from './http-runs.js';
import type { RunTargetClient, TargetKindName } from './run-target.js';
import type { TargetSettings } from './settings.js';

export function targetClients(
  settings: { dbt?: DbtCloudSettings | undefined; targets: TargetSettings },
  http: { policy: RetryPolicy; fetch?: FetchLike },
  runtime: () => AccessTokenSource = () => runtimeAccessTokens(),
): Map<TargetKindName, RunTargetClient> {
  const clients = new Map<TargetKindName, RunTargetClient>();
  if (settings.dbt) clients.set('dbt-cloud', dbtCloudRuns(new DbtCloudClient({ settings: settings.dbt, ...http })));
  const { cloudRunBaseUrl, airflow, http: calls } = settings.targets;
  if (cloudRunBaseUrl) clients.set('cloud-run', cloudRunRuns(new CloudRunClient({ baseUrl: cloudRunBaseUrl, tokens: accessTokensFor(cloudRunBaseUrl, runtime), ...http })));
  if (airflow.size) clients.set('airflow', airflowRuns(new AirflowClient(http), airflow));
  if (calls.size) clients.set('http', httpRuns(new HttpTargetClient(http), calls));
  return clients;
}
