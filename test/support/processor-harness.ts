import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Firestore } from '@google-cloud/firestore';
import { fakeDbtCloud, type FakeDbtCloud } from '../../functions/local/fake-dbt-cloud.js';
import { fakeSlack, type FakeSlack } from '../../functions/local/fake-slack.js';
import type { RecordingServer } from '../../functions/local/recording-server.js';
import { readProcessorConfig } from '../../functions/processor/config.js';
import { createSyncEventProcessor } from '../../functions/processor/process-sync-event.js';
import type { ActionRecord } from '../../functions/processor/store/event-store.js';
import type { Logger } from 'pino';
import { createLogger } from '../../functions/shared/logger.js';
import type { SyncEvent } from '../../functions/shared/sync-event.js';
import { emulator, PROJECT_ID } from './global-hooks.js';
import { pubSubCloudEvent, TEST_SIGNING_KEY } from './sync-event-fixtures.js';

// The processor's integration harness: a Firestore client on the emulator, the loopback
// dbt Cloud and Slack stand-ins, a per-test env and a recording logger. Each test file keeps
// its own routing and settings visible; this file holds only what they all share.

/** A Firestore client on the emulator at `host`. FIRESTORE_EMULATOR_HOST is read when the client is built, and wins over settings. */
export function emulatorFirestore(host: string, projectId = PROJECT_ID): Firestore {
  const saved = process.env.FIRESTORE_EMULATOR_HOST;
  process.env.FIRESTORE_EMULATOR_HOST = host;
  try {
    return new Firestore({ projectId, ignoreUndefinedProperties: true });
  } finally {
    if (saved === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
    else process.env.FIRESTORE_EMULATOR_HOST = saved;
  }
}

/** The settings that point the processor at the two stand-ins. */
export function standInEnv(dbt: RecordingServer, slack: RecordingServer, secrets: { token: string; webhookPath: string }, projectId = PROJECT_ID): Record<string, string> {
  return {
    DBT_CLOUD_BASE_URL: dbt.url,
    DBT_CLOUD_ACCOUNT_ID: '7',
    DBT_CLOUD_API_TOKEN: secrets.token,
    SLACK_WEBHOOK_URL: `${slack.url}${secrets.webhookPath}`,
    // The stand-in is not hooks.slack.com: allowed as a deployment allows another host.
    SLACK_WEBHOOK_HOSTS: new URL(slack.url).origin,
    GOOGLE_CLOUD_PROJECT: projectId,
    SYNC_EVENT_SIGNING_KEY: TEST_SIGNING_KEY,
  };
}

/** A logger that writes nowhere. */
export const quietLogger = (): Logger => createLogger(new Writable({ write: (_c, _e, done) => done() }));

export interface HarnessOptions {
  routing: unknown;
  /** The dbt Cloud token and the Slack webhook path the processor is given. */
  token: string;
  webhookPath: string;
  /** Names this file's collections: `${prefix}events-${pid}-${n}`, connectors, jobs, joins; new ones for every test. */
  prefix: string;
  /** This file's own settings, over the shared ones (a function sees the started stand-ins). */
  env?: Record<string, string> | ((stands: { dbt: FakeDbtCloud; slack: FakeSlack }) => Record<string, string>);
}

export interface ProcessorHarness {
  /** Set in before(). */
  db: Firestore;
  dbt: FakeDbtCloud;
  /** Incoming webhooks and the Web API (`slack.api`) on one stand-in. */
  slack: FakeSlack;
  /** Set in beforeEach(): this test's settings. */
  env: Record<string, string>;
  /** Which test this is (1, 2, ...): names its collections. */
  suite: number;
  /** This test's log lines (cleared before each test, the last 30 printed when it fails). */
  logs: string[];
  logger: Logger;
  /** A processor on this test's settings, with `overrides` over them. */
  processor(overrides?: Record<string, string>, firestore?: Firestore): ReturnType<typeof createSyncEventProcessor>;
  /** Builds a processor and delivers `event` to it as a Pub/Sub CloudEvent. */
  run(event: SyncEvent, messageId?: string): Promise<void>;
  /** The event's audit document, which must exist. */
  audit(id: string): Promise<Record<string, unknown> & { actions: Record<string, ActionRecord> }>;
}

/**
 * Call inside a describe(): registers the before/after/beforeEach/afterEach that start and
 * stop the stand-ins, build the Firestore client (warmed, so no test's deadline pays for its
 * first connection), reset the stand-ins and give every test fresh collections.
 */
export function processorHarness(options: HarnessOptions): ProcessorHarness {
  const logs: string[] = [];
  const h: ProcessorHarness = {
    db: undefined as unknown as Firestore,
    dbt: fakeDbtCloud(),
    slack: fakeSlack(),
    env: {},
    suite: 0,
    logs,
    logger: createLogger(new Writable({ write(chunk: Buffer, _enc, done) { logs.push(chunk.toString()); done(); } })),
    processor: (overrides = {}, firestore = h.db) => createSyncEventProcessor(readProcessorConfig({ ...h.env, ...overrides }), { firestore, logger: h.logger }),
    run: (event, messageId) => h.processor()(pubSubCloudEvent(event, messageId)),
    async audit(id) {
      const snapshot = await h.db.collection(h.env.AUDIT_COLLECTION!).doc(id).get();
      assert.ok(snapshot.exists, `no audit document ${id}`);
      return snapshot.data() as Record<string, unknown> & { actions: Record<string, ActionRecord> };
    },
  };

  before(async function () {
    h.db = emulatorFirestore(await emulator('firestore', this));
    await Promise.all([h.dbt.start(), h.slack.start()]);
    await h.db.collection('warm-up').doc('x').get();
  });

  after(async () => {
    await Promise.all([h.dbt.stop(), h.slack.stop()]);
    await h.db?.terminate();
  });

  beforeEach(() => {
    h.dbt.reset();
    h.slack.reset();
    logs.length = 0;
    const n = ++h.suite;
    const own = typeof options.env === 'function' ? options.env({ dbt: h.dbt, slack: h.slack }) : options.env;
    h.env = {
      ROUTING_CONFIG: JSON.stringify(options.routing),
      ...standInEnv(h.dbt, h.slack, options),
      AUDIT_COLLECTION: `${options.prefix}events-${process.pid}-${n}`,
      CONNECTORS_COLLECTION: `${options.prefix}connectors-${process.pid}-${n}`,
      JOB_STATE_COLLECTION: `${options.prefix}jobs-${process.pid}-${n}`,
      JOINS_COLLECTION: `${options.prefix}joins-${process.pid}-${n}`,
      ...own,
    };
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(logs.slice(-30).join(''));
  });

  return h;
}
