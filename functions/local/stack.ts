import { createServer } from 'node:net';
import { DEPLOYMENT_NAMES } from '../shared/deployment-names.js';
import { freePort, startEmulator, type EmulatorKind } from './emulators.js';
import { registerForCleanup } from './lifecycle.js';
import { debugWanted, formatFunctionLine, formatStandInRequest, painter, type Painter } from './console-output.js';
import { fakeAirbyte, type FakeAirbyte } from './fake-airbyte.js';
import { fakeDbtCloud, type FakeDbtCloud, type RunWebhooks } from './fake-dbt-cloud.js';
import { fakeFivetran, type FakeFivetran } from './fake-fivetran.js';
import { fakeSlack, type FakeSlack } from './fake-slack.js';
import { LOCAL_SLACK_BOT_TOKEN } from './fake-slack-api.js';
import { startFunction, type FunctionProcess, type StartFunctionOptions } from './function-process.js';
import { LOCAL_SLACK_OPERATOR, PORT_SETTINGS, type LocalPorts, type LocalSettings } from './local-settings.js';
import { EmulatorAdmin } from './pubsub-admin.js';
import type { RecordingServer } from './recording-server.js';
import { readSettings, StatusReader } from '../read-model/status-reader.js';
import { startStatusServer } from '../status/server.js';

/** The local status page reloads itself this often: events flow fast on a laptop. */
const LOCAL_REFRESH_SECONDS = 15;

/** The local push subscription's max_delivery_attempts, also given to the processor. */
const LOCAL_MAX_DELIVERY_ATTEMPTS = 5;

export interface StackOptions {
  settings: LocalSettings;
  /** Where readable lines go as events flow (default: nowhere). */
  print?: (line: string) => void;
  paint?: Painter;
  /** Called with every raw line the functions print, for tests and tools. */
  onFunctionLine?: (target: StartFunctionOptions['target'], line: string) => void;
  /** Extra settings for both functions, over the stack's own. */
  functionEnv?: Record<string, string>;
  /**
   * The dbt Cloud stand-in reports every run it queues back to the ingest `/dbt-cloud` URL
   * as dbt Cloud's signed webhooks (started, then completed; errored too for a failure):
   * how each run ends and how soon. On unless false.
   */
  dbtRunWebhooks?: Pick<RunWebhooks, 'endFor' | 'errorMessage' | 'delayMs' | 'hold'> | false;
  /** Serve the status page (`postload ui`) on UI_PORT, reading the stack's Firestore (`npm start` does). */
  statusPage?: boolean;
}

export interface LocalStack {
  settings: LocalSettings;
  projectId: string;
  pubsubHost: string;
  firestoreHost: string;
  topic: string;
  pushSubscription: string;
  deadLetterTopic: string;
  deadLetterSubscription: string;
  /** False when the emulator refused the dead-letter policy (it is not reliable there anyway). */
  deadLetterPolicy: boolean;
  ingest: FunctionProcess;
  processor: FunctionProcess;
  /** The scheduled sweep, ticked through the emulator every SWEEP_TICK_SECONDS (docs/freshness.md). */
  sweep: FunctionProcess;
  /** The Fivetran and Airbyte API stand-ins the sweep reconciles with (unless real ones are given). */
  fivetranApi: FakeFivetran | undefined;
  airbyteApi: FakeAirbyte | undefined;
  /** Publishes one tick now (tests and the demo; the timer does the same). */
  tick(): Promise<void>;
  fivetranUrl: string;
  /** The Airbyte webhook URL with its token, as Airbyte is configured. */
  airbyteUrl: string;
  /** The dbt Cloud webhook URL (requests signed with DBT_CLOUD_WEBHOOK_SECRET in Authorization). */
  dbtCloudUrl: string;
  /** The stand-ins, when they run (not when DBT_CLOUD_BASE_URL / SLACK_WEBHOOK_URL point elsewhere). */
  dbt: FakeDbtCloud | undefined;
  /** Slack's incoming webhooks and Web API (the Slack app: `slack.api`), when the stand-in runs. */
  slack: FakeSlack | undefined;
  dbtBaseUrl: string;
  slackWebhookUrl: string;
  /** The status page's URL, when it was asked for. */
  statusPageUrl: string | undefined;
  /** Rejects when a function process exits on its own: the stack is broken. */
  failed: Promise<never>;
  /** Stops everything the stack started (idempotent). Emulators it did not start are left running. */
  stop(): Promise<void>;
}

/**
 * Starts the whole pipeline on this machine: the Pub/Sub and Firestore emulators (unless
 * running ones are given), the topic, a dead-letter topic with its pull subscription, the
 * dbt Cloud and Slack stand-ins (unless real ones are given), the processor behind a push
 * subscription, and the ingest function. On any failure it stops what it had started.
 */
export async function startStack({ settings, print = () => {}, paint = painter(false), onFunctionLine, functionEnv = {}, dbtRunWebhooks = {}, statusPage = false }: StackOptions): Promise<LocalStack> {
  const stoppers: Array<() => Promise<void>> = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.allSettled(stoppers.splice(0).reverse().map((s) => s()));
    })());
  registerForCleanup(stop);

  try {
    const ports = await choosePorts(settings);
    const [pubsubHost, firestoreHost] = await Promise.all([
      emulator('pubsub', settings.pubsubEmulatorHost, ports.pubsub, stoppers),
      emulator('firestore', settings.firestoreEmulatorHost, ports.firestore, stoppers),
    ]);

    const dbt = settings.dbtCloudBaseUrl ? undefined : await standIn(fakeDbtCloud(), ports.dbt, 'dbt Cloud', stoppers, print, paint);
    const slack = settings.slackWebhookUrl ? undefined : await standIn(fakeSlack(), ports.slack, 'Slack', stoppers, print, paint);
    const dbtBaseUrl = settings.dbtCloudBaseUrl ?? dbt!.url;
    const slackWebhookUrl = settings.slackWebhookUrl ?? `${slack!.url}/services/T0LOCAL/B0LOCAL/local-webhook`;
    // The Slack app (docs/slack-app.md), against the stand-in's Web API: a routing file's app targets post there,
    // and its button presses (slack-interactivity.ts) reach the ingest function's /slack/actions.
    const slackApp: Record<string, string> = slack ? { SLACK_API_BASE_URL: `${slack.url}/api`, SLACK_BOT_TOKEN: LOCAL_SLACK_BOT_TOKEN } : {};
    const statusPageSetting: Record<string, string> = statusPage && ports.ui ? { SLACK_STATUS_PAGE_URL: `http://127.0.0.1:${ports.ui}` } : {};

    const { projectId, topic } = settings;
    const admin = new EmulatorAdmin(pubsubHost, projectId);
    // Named as terraform/pubsub.tf names them at its defaults, so the CLI's defaults work here too.
    const deadLetterTopic = `${topic}-dead-letter`;
    const deadLetterSubscription = DEPLOYMENT_NAMES.deadLetterSubscription.name;
    await admin.ensureTopic(topic);
    await admin.ensureTopic(deadLetterTopic);
    await admin.ensurePullSubscription(deadLetterSubscription, deadLetterTopic);

    const shared = {
      GOOGLE_CLOUD_PROJECT: projectId,
      PUBSUB_EMULATOR_HOST: pubsubHost,
      FIRESTORE_EMULATOR_HOST: firestoreHost,
      // Ingest signs every SyncEvent with it; the processor acts on nothing else.
      SYNC_EVENT_SIGNING_KEY: settings.syncEventSigningKey,
      // No metadata server on a laptop: without this the Google clients probe for one and warn.
      METADATA_SERVER_DETECTION: process.env.METADATA_SERVER_DETECTION ?? 'none',
    };
    const debug = debugWanted({ ...process.env, ...functionEnv });
    const lines = (target: StartFunctionOptions['target']) => (line: string) => {
      onFunctionLine?.(target, line);
      const text = formatFunctionLine(target, line, paint, { debug });
      if (text !== undefined) print(text);
    };

    const processor = await startFunction({
      target: 'processSyncEvent',
      port: ports.processor,
      onLine: lines('processSyncEvent'),
      env: {
        ...shared,
        ROUTING_CONFIG: settings.routing,
        DBT_CLOUD_BASE_URL: dbtBaseUrl,
        DBT_CLOUD_ACCOUNT_ID: settings.dbtAccountId,
        DBT_CLOUD_API_TOKEN: settings.dbtApiToken,
        SLACK_WEBHOOK_URL: slackWebhookUrl,
        // The stand-in (or a webhook given in SLACK_WEBHOOK_URL) allowed the way a deployment allows a host other than hooks.slack.com.
        SLACK_WEBHOOK_HOSTS: new URL(slackWebhookUrl).origin,
        // As Terraform does: the processor knows the subscription's limit (pubsub-admin's default).
        MAX_DELIVERY_ATTEMPTS: String(LOCAL_MAX_DELIVERY_ATTEMPTS),
        ...slackApp,
        ...statusPageSetting,
        ...functionEnv,
      },
    });
    stoppers.push(() => processor.stop());
    // The subscription is made once the processor listens, so the first push finds it.
    const pushSubscription = `${topic}-processor`;
    const { deadLetterPolicy } = await admin.ensurePushSubscription(pushSubscription, {
      topic,
      // The path names the topic, as the Functions Framework expects of a push endpoint.
      endpoint: `${processor.url}/projects/${projectId}/topics/${topic}`,
      deadLetterTopic,
      maxDeliveryAttempts: LOCAL_MAX_DELIVERY_ATTEMPTS,
    });

    // The sweep, ticked as Cloud Scheduler does (docs/freshness.md), and the vendor API stand-ins it reconciles with.
    const fivetranApi = settings.fivetranApiBaseUrl ? undefined : await standIn(fakeFivetran(), 0, 'Fivetran API', stoppers, print, paint);
    const airbyteApi = settings.airbyteApiBaseUrl ? undefined : await standIn(fakeAirbyte(), 0, 'Airbyte API', stoppers, print, paint);
    const sweep = await startFunction({
      target: 'runSweep',
      port: await freePort(),
      onLine: lines('runSweep'),
      env: {
        ...shared,
        ROUTING_CONFIG: settings.routing,
        SLACK_WEBHOOK_URL: slackWebhookUrl,
        SLACK_WEBHOOK_HOSTS: new URL(slackWebhookUrl).origin,
        SYNC_EVENTS_TOPIC: topic,
        ...(fivetranApi ? { FIVETRAN_API_BASE_URL: `${fivetranApi.url}/v1`, FIVETRAN_API_KEY: fivetranApi.apiKey, FIVETRAN_API_SECRET: fivetranApi.apiSecret } : {}),
        ...(airbyteApi ? { AIRBYTE_API_BASE_URL: `${airbyteApi.url}/v1`, AIRBYTE_API_CLIENT_ID: airbyteApi.clientId, AIRBYTE_API_CLIENT_SECRET: airbyteApi.clientSecret } : {}),
        // Locally a lost webhook is recovered after a minute, not fifteen.
        RECONCILE_AFTER_SECONDS: process.env.RECONCILE_AFTER_SECONDS ?? '60',
        ...slackApp,
        ...statusPageSetting,
        ...functionEnv,
      },
    });
    stoppers.push(() => sweep.stop());
    const ticks = `${topic}-sweep-ticks`;
    await admin.ensureTopic(ticks);
    await admin.ensurePushSubscription(`${topic}-sweep`, { topic: ticks, endpoint: `${sweep.url}/projects/${projectId}/topics/${ticks}` });
    const tick = () => admin.publish(ticks, [{ data: '{"tick":"postload local sweep"}' }]);
    if (settings.sweepTickSeconds > 0) {
      const timer = setInterval(() => void tick().catch(() => undefined), settings.sweepTickSeconds * 1000);
      timer.unref();
      stoppers.push(async () => clearInterval(timer));
    }

    const ingest = await startFunction({
      target: 'ingestWebhook',
      port: ports.ingest,
      onLine: lines('ingestWebhook'),
      env: {
        ...shared,
        SYNC_EVENTS_TOPIC: topic,
        FIVETRAN_WEBHOOK_SECRET: settings.fivetranSecret,
        AIRBYTE_WEBHOOK_TOKEN: settings.airbyteToken,
        DBT_CLOUD_WEBHOOK_SECRET: settings.dbtCloudWebhookSecret,
        // The Slack app's buttons: verified with the signing secret the stand-in signs with, pressable by the local operator.
        ...(slack
          ? {
              ...slackApp,
              SLACK_SIGNING_SECRET: settings.slackSigningSecret,
              SLACK_ACTION_USERS: LOCAL_SLACK_OPERATOR,
              SLACK_WEBHOOK_HOSTS: new URL(slack.url).origin,
              DBT_CLOUD_BASE_URL: dbtBaseUrl,
              DBT_CLOUD_ACCOUNT_ID: settings.dbtAccountId,
              DBT_CLOUD_API_TOKEN: settings.dbtApiToken,
            }
          : {}),
        ...functionEnv,
      },
    });
    stoppers.push(() => ingest.stop());
    if (dbt && dbtRunWebhooks) {
      dbt.sendRunWebhooks({
        ...dbtRunWebhooks,
        url: `${ingest.url}/dbt-cloud`,
        secret: settings.dbtCloudWebhookSecret,
        onDelivery: (d) => print(`${paint('dim', 'dbt Cloud webhook')} ${d.eventType} run ${d.runId} → ${typeof d.status === 'number' ? d.status : `failed (${d.status})`}${d.attempts > 1 ? ` after ${d.attempts} attempts` : ''}`),
      });
    }

    const statusPageUrl = statusPage ? await startStatusPage({ ...process.env, ...functionEnv }, projectId, firestoreHost, ports.ui, stoppers) : undefined;

    const failed = new Promise<never>((_, reject) => {
      for (const fn of [ingest, processor, sweep]) {
        fn.child.once('exit', (code, signal) => {
          if (!stopping) reject(new Error(`${fn.target} exited on its own (${signal ?? `code ${code}`}):\n${fn.output().slice(-2000)}`));
        });
      }
      const watch = watchEmulators([pubsubHost, firestoreHost], (error) => !stopping && reject(error));
      stoppers.push(async () => clearInterval(watch));
    });
    failed.catch(() => {});

    return {
      settings,
      projectId,
      pubsubHost,
      firestoreHost,
      topic,
      pushSubscription,
      deadLetterTopic,
      deadLetterSubscription,
      deadLetterPolicy,
      ingest,
      processor,
      sweep,
      fivetranApi,
      airbyteApi,
      tick,
      fivetranUrl: `${ingest.url}/fivetran`,
      airbyteUrl: `${ingest.url}/airbyte?token=${encodeURIComponent(settings.airbyteToken)}`,
      dbtCloudUrl: `${ingest.url}/dbt-cloud`,
      dbt,
      slack,
      dbtBaseUrl,
      slackWebhookUrl,
      statusPageUrl,
      failed,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The status page on the stack's Firestore emulator, reading the collections the functions write (their settings). */
async function startStatusPage(env: Record<string, string | undefined>, projectId: string, firestoreHost: string, port: number, stoppers: Array<() => Promise<void>>): Promise<string> {
  const { Firestore } = await import('@google-cloud/firestore');
  const db = new Firestore({ projectId, host: firestoreHost, ssl: false });
  stoppers.push(() => db.terminate());
  const server = await startStatusServer({ reader: new StatusReader(db, readSettings(env)), port, refreshSeconds: LOCAL_REFRESH_SECONDS }).catch((error: unknown) => {
    if ((error as { code?: string }).code === 'EADDRINUSE') throw new Error(`UI_PORT: port ${port} is already in use; set UI_PORT to a free port, or 0 for any`);
    throw error;
  });
  stoppers.push(() => server.close());
  return server.url;
}

/** Asks each emulator for its `Ok` every few seconds; two missed answers in a row mean it is gone. */
function watchEmulators(hosts: string[], onFailure: (error: Error) => void, everyMs = 5000): NodeJS.Timeout {
  const missed = new Map<string, number>();
  const timer = setInterval(() => {
    for (const host of hosts) {
      fetch(`http://${host}/`, { signal: AbortSignal.timeout(3000) })
        .then((r) => r.ok)
        .catch(() => false)
        .then((ok) => {
          missed.set(host, ok ? 0 : (missed.get(host) ?? 0) + 1);
          if ((missed.get(host) ?? 0) >= 2) onFailure(new Error(`the emulator at ${host} stopped answering`));
        });
    }
  }, everyMs);
  timer.unref();
  return timer;
}

/** The ports to listen on: those set are checked to be free (a clear error beats a confusing one), 0 becomes a free one. */
async function choosePorts(settings: LocalSettings): Promise<LocalPorts> {
  const skip = new Set<keyof LocalPorts>([
    ...(settings.pubsubEmulatorHost ? (['pubsub'] as const) : []),
    ...(settings.firestoreEmulatorHost ? (['firestore'] as const) : []),
    ...(settings.dbtCloudBaseUrl ? (['dbt'] as const) : []),
    ...(settings.slackWebhookUrl ? (['slack'] as const) : []),
  ]);
  const chosen = { ...settings.ports };
  const taken = new Set<number>();
  for (const { variable, port } of PORT_SETTINGS) {
    if (skip.has(port)) continue;
    if (chosen[port] === 0) {
      do chosen[port] = await freePort();
      while (taken.has(chosen[port]));
    } else if (taken.has(chosen[port]) || !(await isFree(chosen[port]))) {
      throw new Error(`${variable}: port ${chosen[port]} is already in use (is another \`npm start\` running?); set ${variable} to a free port, or 0 for any`);
    }
    taken.add(chosen[port]);
  }
  return chosen;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function emulator(kind: EmulatorKind, given: string | undefined, port: number, stoppers: Array<() => Promise<void>>): Promise<string> {
  const variable = kind === 'pubsub' ? 'PUBSUB_EMULATOR_HOST' : 'FIRESTORE_EMULATOR_HOST';
  if (given) {
    const answer = await fetch(`http://${given}/`, { signal: AbortSignal.timeout(3000) }).then(
      (r) => r.text(),
      (error: unknown) => `${(error as Error).message}`,
    );
    if (answer.trim() !== 'Ok') throw new Error(`${variable}=${given} does not answer like an emulator (${answer.trim().slice(0, 100)}); unset it to start one`);
    return given;
  }
  const running = await startEmulator(kind, { port });
  stoppers.push(() => running.stop());
  return running.host;
}

async function standIn<T extends RecordingServer>(
  server: T,
  port: number,
  name: 'dbt Cloud' | 'Slack' | 'Fivetran API' | 'Airbyte API',
  stoppers: Array<() => Promise<void>>,
  print: (line: string) => void,
  paint: Painter,
): Promise<T> {
  // The vendor APIs are read on every tick: only their refusals are worth a line.
  const quiet = name === 'Fivetran API' || name === 'Airbyte API';
  server.onRequest = (request, reply) => {
    if (!quiet || typeof reply !== 'object' || reply.status >= 400) print(formatStandInRequest(name, request, reply, paint));
  };
  await server.start(port);
  stoppers.push(() => server.stop());
  return server;
}
