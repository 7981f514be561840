// What the run targets the routing file names need at start-up, read once for the
// processor (which starts runs) and the sweep (which follows them and starts deferred ones):
// the Cloud Run API's address, each Airflow's address and credentials, each HTTP call's
// address, headers and signing secret. Secrets are named by reference in the routing file
// (env:VARIABLE or sm://…), never written there; a literal one in the environment is checked
// now, one in Secret Manager when it is used.
import type { AirflowDagAction, CloudRunJobAction, HttpCallAction, RoutingConfig } from '../../generated/routing-config.schema.js';
import { Secret, secretSetting, type SecretOptions } from '../../shared/secrets.js';
import { baseUrlSetting, ConfigError, type SettingsProblems } from '../../shared/settings.js';
import { signingKey } from '../../shared/standard-webhooks.js';
import type { AirflowAuth, AirflowTarget } from '../clients/airflow.js';
import { CLOUD_RUN_BASE_URL } from '../clients/cloud-run.js';
import { accessTokensFor, runtimeAccessTokens, type AccessTokenSource } from '../clients/google-token.js';
import { withinDeadline } from '../clients/http-retry.js';
import { airflowTargetId } from './airflow.js';
import type { HttpTargetSettings } from './http-runs.js';

type Env = Record<string, string | undefined>;

export interface TargetSettings {
  /** Set when the routing file names a Cloud Run job: CLOUD_RUN_API_BASE_URL (https://run.googleapis.com). */
  cloudRunBaseUrl: string | undefined;
  /** By target id (`<api>#<dag id>`). */
  airflow: Map<string, AirflowTarget>;
  /** By call name. */
  http: Map<string, HttpTargetSettings>;
}

/** No targets beyond dbt Cloud (a routing file that could not be read). */
export function noTargets(): TargetSettings {
  return { cloudRunBaseUrl: undefined, airflow: new Map(), http: new Map() };
}

/** Every target of each kind the routing file names (routes, the default route, joins), with its JSON pointer. */
export function namedTargets(config: RoutingConfig): {
  cloudRun: Array<{ pointer: string; action: CloudRunJobAction }>;
  airflow: Array<{ pointer: string; action: AirflowDagAction }>;
  http: Array<{ pointer: string; action: HttpCallAction }>;
} {
  const places = [...config.routes.map((route, i) => [`/routes/${i}`, route] as const), ...(config.defaultRoute ? [['/defaultRoute', config.defaultRoute] as const] : [])];
  const joins = config.joins ?? [];
  return {
    cloudRun: [...places.flatMap(([at, a]) => (a.cloudRunJobs ?? []).map((action, j) => ({ pointer: `${at}/cloudRunJobs/${j}`, action }))), ...joins.flatMap((join, j) => (join.cloudRunJob ? [{ pointer: `/joins/${j}/cloudRunJob`, action: join.cloudRunJob }] : []))],
    airflow: [...places.flatMap(([at, a]) => (a.airflowDags ?? []).map((action, j) => ({ pointer: `${at}/airflowDags/${j}`, action }))), ...joins.flatMap((join, j) => (join.airflowDag ? [{ pointer: `/joins/${j}/airflowDag`, action: join.airflowDag }] : []))],
    http: [...places.flatMap(([at, a]) => (a.httpCalls ?? []).map((action, j) => ({ pointer: `${at}/httpCalls/${j}`, action }))), ...joins.flatMap((join, j) => (join.httpCall ? [{ pointer: `/joins/${j}/httpCall`, action: join.httpCall }] : []))],
  };
}

/**
 * The targets' settings. Problems are collected (a missing secret named in the routing file,
 * a literal signing secret that is not a Standard Webhooks one, a bad base URL), each naming
 * the setting, so start-up and `postload check` list them all.
 */
export function readTargetSettings(env: Env, config: RoutingConfig, secrets: SecretOptions, problems: SettingsProblems, runtime: () => AccessTokenSource = once(() => runtimeAccessTokens())): TargetSettings {
  const named = namedTargets(config);
  const cloudRunBaseUrl = named.cloudRun.length ? problems.take(() => baseUrlSetting(env, 'CLOUD_RUN_API_BASE_URL', CLOUD_RUN_BASE_URL), CLOUD_RUN_BASE_URL) : undefined;
  const secretOf = (reference: string, pointer: string): Secret | undefined => {
    const secret = reference.startsWith('env:') ? secretSetting(env, reference.slice('env:'.length), secrets) : new Secret(`routing secret ${reference}`, reference, secrets);
    if (!secret.configured) {
      problems.add(new ConfigError(secret.setting, `is not set; the routing file names it at ${pointer}: set it to the secret's value or to an sm:// Secret Manager reference`));
      return undefined;
    }
    return secret;
  };

  const airflow = new Map<string, AirflowTarget>();
  for (const { pointer, action } of named.airflow) {
    const id = airflowTargetId(action);
    if (airflow.has(id)) continue;
    const auth = airflowAuth(action, pointer, secretOf, runtime);
    if (auth) airflow.set(id, { api: action.api, dagId: action.dagId, auth });
  }

  const http = new Map<string, HttpTargetSettings>();
  for (const { pointer, action } of named.http) {
    if (http.has(action.name)) continue;
    const signing = secretOf(action.signingSecret, `${pointer}/signingSecret`);
    const literal = signing?.valuesAtHand()?.[0]?.toString('utf8');
    const key = literal === undefined ? undefined : signingKey(literal);
    if (key && !Buffer.isBuffer(key)) problems.add(new ConfigError(signing!.setting, `${key.problem} (named at ${pointer}/signingSecret)`));
    const headers: HttpTargetSettings['headers'] = [];
    for (const [name, value] of Object.entries(action.headers ?? {})) {
      if (typeof value === 'string') headers.push({ name, value });
      else {
        const secret = secretOf(value.secret, `${pointer}/headers/${name}`);
        if (secret) headers.push({ name, secret, prefix: value.prefix ?? '' });
      }
    }
    if (signing) http.set(action.name, { url: action.url, method: action.method ?? 'POST', headers, signingSecret: signing });
  }
  return { cloudRunBaseUrl, airflow, http };
}

function airflowAuth(action: AirflowDagAction, pointer: string, secretOf: (reference: string, pointer: string) => Secret | undefined, runtime: () => AccessTokenSource): AirflowAuth | undefined {
  const auth = action.auth ?? 'google';
  if (auth === 'google') {
    const tokens = accessTokensFor(action.api, runtime);
    return { header: async (deadline) => `Bearer ${await tokens.token(deadline)}` };
  }
  if ('bearer' in auth) {
    const secret = secretOf(auth.bearer, `${pointer}/auth/bearer`);
    return secret && { header: async (deadline) => `Bearer ${await withinDeadline(secret.currentValue(), deadline, `read ${secret.setting}`)}` };
  }
  const password = secretOf(auth.basic.password, `${pointer}/auth/basic/password`);
  return (
    password && {
      header: async (deadline) => `Basic ${Buffer.from(`${auth.basic.username}:${await withinDeadline(password.currentValue(), deadline, `read ${password.setting}`)}`).toString('base64')}`,
    }
  );
}

/** One GoogleAuth for the whole process (it caches its token), made when first needed. */
function once<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => (made ??= make());
}
