import * as functions from '@google-cloud/functions-framework';
import type { CloudEvent, HttpFunction } from '@google-cloud/functions-framework';
import { acceptOnlyPushes } from './processor/push-only.js';
import { installBodyParsing } from './shared/body-parsing.js';

// One package serves all three functions (ingest, processor, the scheduled sweep), and each
// Cloud Functions instance runs one of them.
// The handlers are imported on demand so the ingest function never loads the processor's
// Firestore, dbt Cloud or Slack code (and the other way round). The instance's own target
// (FUNCTION_TARGET) is imported before the server starts, so a bad configuration (say a
// routing file that fails its schema) stops the instance at start-up, failing the deploy,
// instead of failing every event. Loading the ingest module also makes its bounded body
// reader the only thing that reads request bodies (shared/body-parsing.ts). The processor
// answers 400 to anything that is not a Pub/Sub push (processor/push-only.ts).

installBodyParsing();
acceptOnlyPushes();

const loadIngest = once(() => import('./ingest/index.js'));
const loadProcessor = once(() => import('./processor/handler.js'));
const loadSweep = once(() => import('./sweep/handler.js'));

export const INGEST_FUNCTION = 'ingestWebhook';
export const PROCESSOR_FUNCTION = 'processSyncEvent';
export const SWEEP_FUNCTION = 'runSweep';

// Once loaded, the handler is called directly: every extra promise per request costs twice
// under the framework's per-request domain (its async hooks track each one).
let ingestHandler: HttpFunction | undefined;
const ingestWebhook: HttpFunction = (req, res) =>
  ingestHandler ? ingestHandler(req, res) : loadIngest().then(({ ingestWebhook: handler }) => (ingestHandler = handler)(req, res));

functions.http(INGEST_FUNCTION, ingestWebhook);
functions.cloudEvent(PROCESSOR_FUNCTION, async (event: CloudEvent<unknown>) =>
  (await loadProcessor()).processSyncEvent(event),
);
functions.cloudEvent(SWEEP_FUNCTION, async (event: CloudEvent<unknown>) => (await loadSweep()).runSweep(event));

if (process.env.FUNCTION_TARGET === INGEST_FUNCTION) await loadIngest();
if (process.env.FUNCTION_TARGET === PROCESSOR_FUNCTION) await loadProcessor();
if (process.env.FUNCTION_TARGET === SWEEP_FUNCTION) await loadSweep();

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => (loaded ??= load());
}

/** Signs a body exactly as Fivetran does, for tests and for checking a deployment. */
export { signFivetranPayload } from './ingest/fivetran/signature.js';
/** Signs a body exactly as dbt Cloud does (the Authorization header of its webhooks). */
export { signDbtCloudPayload } from './ingest/dbt-cloud/signature.js';
