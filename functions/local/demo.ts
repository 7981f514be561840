import { randomUUID } from 'node:crypto';
import { exitCodeFor, onStopRequest, stopAll } from './lifecycle.js';
import { fitLine, outputWidth } from '../cli/table.js';
import { coloursWanted, painter, short, table } from './console-output.js';
import type { AuditRecord } from './audit-reader.js';
import { awaitOutcome, PublishedLog, sendSteps, type ScenarioOutcome } from './demo-run.js';
import { DEMO_FRESHNESS, freshnessStory, type FreshnessStory } from './demo-freshness.js';
import { DEMO_ROUTING, DEMO_RUN_WEBHOOKS, demoScenario } from './demo-scenario.js';
import { DEMO_SLACK_APP, slackAppStory, type SlackAppStory } from './demo-slack-app.js';
import { DEVELOPMENT_SECRETS, readLocalSettings } from './local-settings.js';
import { startStack, type LocalStack } from './stack.js';

// `npm run demo`: starts the stack on free ports with the stand-ins and the demo's routing,
// sends the scenario, waits for processing, prints what happened to each event, and exits
// 0 only if every expectation held.

// No metadata server on a laptop: stop the Firestore client used to read the audit trail from probing for one.
process.env.METADATA_SERVER_DETECTION ??= 'none';
const paint = painter(coloursWanted());
// Ctrl-C, a signal to npm (package.json `exec`s this process in npm's place) or npm going away stop everything it started.
onStopRequest((request) => void stopAll().finally(() => process.exit(exitCodeFor(request))), { watchParent: true });
const width = outputWidth(process.stdout, false);
const print = (line: string) => console.log(fitLine(`  ${line}`, width));
let stack: LocalStack | undefined;

async function main(): Promise<number> {
  // Its own ports, stand-ins, secrets and routing, so it never touches a real dbt Cloud or
  // Slack and never collides with a running `npm start`. Running emulators are reused.
  const { PUBSUB_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST } = process.env;
  const settings = {
    ...readLocalSettings({ ...DEVELOPMENT_SECRETS, PUBSUB_EMULATOR_HOST, FIRESTORE_EMULATOR_HOST }, { anyFreePort: true }),
    routing: JSON.stringify(DEMO_ROUTING),
    // Its own topic and push subscription: on shared emulators it must not take over those of a running `npm start`.
    topic: `sync-events-demo-${randomUUID().slice(0, 8)}`,
    // The demo ticks the sweep itself, during its freshness story.
    sweepTickSeconds: 0,
  };
  console.log(paint('bold', 'postload demo: starting the local stack (emulators, both functions, dbt Cloud and Slack stand-ins)…'));
  const published = new PublishedLog();
  const started = Date.now();
  // Its own job state and joins (issue 12): a run on reused emulators starts from an idle job and an empty join.
  const run = settings.topic.slice(-8);
  const freshnessCollection = `freshness-demo-${run}`;
  const functionEnv = { JOB_STATE_COLLECTION: `dbtJobState-demo-${run}`, JOINS_COLLECTION: `joins-demo-${run}`, FRESHNESS_COLLECTION: freshnessCollection, SWEEP_COLLECTION: `sweep-demo-${run}` };
  stack = await startStack({ settings, print, paint, onFunctionLine: published.onLine, functionEnv, dbtRunWebhooks: DEMO_RUN_WEBHOOKS });
  console.log(paint('bold', `stack up in ${((Date.now() - started) / 1000).toFixed(1)} s; sending the scenario to ${stack.ingest.url}…`));

  const steps = demoScenario();
  const sent = await sendSteps(stack, steps);
  const outcome = await Promise.race([awaitOutcome(stack, sent, published), stack.failed]);
  printSummary(outcome);
  console.log(paint('bold', `freshness: ${DEMO_FRESHNESS.name} expects a sync every ${DEMO_FRESHNESS.every} (grace ${DEMO_FRESHNESS.grace}); it syncs once, goes silent, then syncs again, while the sweep ticks every second…`));
  const story = await Promise.race([freshnessStory(stack, { collection: freshnessCollection }), stack.failed]);
  printFreshness(story);
  console.log(paint('bold', `Slack app: a run of dbt job ${DEMO_SLACK_APP.job} fails; its message goes to ${DEMO_SLACK_APP.channel} through the app with "Retry this dbt run", pressed by the operator, a stranger, then the operator again…`));
  const app = await Promise.race([slackAppStory(stack), stack.failed]);
  printSlackApp(app);
  return outcome.ok && story.ok && app.ok ? 0 : 1;
}

function printSlackApp(app: SlackAppStory): void {
  const row = [String(app.messages), String(app.retries), app.recordedBy ?? '—', app.problems.length ? paint('red', `✗ ${app.problems.join('; ')}`) : paint('green', '✔')];
  console.log(`
Slack app (one message, a button that acts once, for the people allowed):
${table(['messages in the channel', 'retries asked of dbt Cloud', 'recorded as pressed by', 'as expected'], [row])}
`);
  for (const answer of app.answers) console.log(`  answered: ${answer}`);
  console.log(app.ok ? paint('green', '✔ one message, one retry, the stranger refused, the second press told who did it') : paint('red', '✗ the Slack app story did not go as expected'));
}

function printFreshness(story: FreshnessStory): void {
  const row = [
    `fivetran ${DEMO_FRESHNESS.name}`,
    story.expectation ?? '—',
    story.states.join(' → ') || '—',
    `${story.alerts.length} alert, ${story.recoveries.length} recovery`,
    String(story.dbtRuns),
    story.problems.length ? paint('red', `✗ ${story.problems.join('; ')}`) : paint('green', '✔'),
  ];
  console.log(`\nfreshness (the scheduled sweep):\n${table(['connector', 'expectation (source)', 'states judged', 'Slack', 'dbt runs', 'as expected'], [row])}\n`);
  for (const text of [...story.alerts, ...story.recoveries]) console.log(`  Slack: ${text}`);
  console.log(story.ok ? paint('green', '✔ went overdue (one alert) and recovered (one message saying how long and how many syncs were missed)') : paint('red', '✗ the freshness story did not go as expected'));
}

function printSummary(outcome: ScenarioOutcome): void {
  const rows = outcome.steps.map(({ sent, published, audit, dbtRuns, slackMessages, duplicatesSuppressed, joinOutcome, problems }) => {
    const join = joinOutcome ? ` (join ${joinOutcome})` : '';
    const dup = sent.step.duplicateOf;
    return [
      String(sent.index + 1),
      sent.step.label,
      String(sent.status),
      sent.eventId ? `${short(sent.eventId)}${dup !== undefined ? ` (= #${dup + 1})` : ''}` : '—',
      sent.eventId ? `${published}×` : 'no',
      dup !== undefined ? 'none new' : dbtRuns.length ? `${dbtRuns.map((r) => `job ${/\/jobs\/(\d+)\//.exec(r.url)?.[1]}`).join(', ')}${join}` : coalescedInto(audit) ?? (join ? join.trim() : '—'),
      dup !== undefined ? 'none new' : String(slackMessages.length || '—'),
      audit ? `${audit.status}, ${audit.deliveries} deliver${audit.deliveries === 1 ? 'y' : 'ies'}` : '—',
      duplicatesSuppressed ? String(duplicatesSuppressed) : '—',
      problems.length ? paint('red', `✗ ${problems.join('; ')}`) : paint('green', '✔'),
    ];
  });
  // On a terminal, fitted to its width (the step's label and the runs give way first); whole when piped.
  console.log(`\n${table(['#', 'sent', 'HTTP', 'event', 'published', 'dbt runs', 'Slack', 'audit record', 'dups suppressed', 'as expected'], rows, { width, keep: new Set([0, 2, 3, 4, 6, 9]) })}\n`);
  printLoop(outcome);
  for (const problem of outcome.problems) console.log(paint('red', `✗ ${problem}`));
  console.log(
    outcome.ok
      ? paint('green', `✔ every expectation held: ${outcome.steps.length} requests, ${countRuns(outcome)} dbt runs, ${countMessages(outcome)} Slack messages, duplicates suppressed, forged request refused, a join fired across Fivetran and Airbyte, a burst coalesced`)
      : paint('red', '✗ some expectations did not hold (see above)'),
  );
}

/** "coalesced → run R", or "covered by 1a2b3c4d" (its batch's holder), for an event that started no run of its own (issues 12, 26). */
function coalescedInto(audit: AuditRecord | undefined): string | undefined {
  const busy = Object.values(audit?.actions ?? {}).find((a) => a.busy)?.busy;
  if (!busy) return undefined;
  return busy.outcome === 'joined' ? `covered by ${busy.holder?.slice(0, 8) ?? '?'}` : busy.runId !== undefined ? `${busy.outcome} → run ${busy.runId}` : busy.outcome;
}

/** The dbt Cloud loop: each run a step started, as dbt Cloud's run webhooks reported it back onto the step's audit record. */
function printLoop(outcome: ScenarioOutcome): void {
  const rows = outcome.steps
    .filter((s) => s.sent.step.expect.runOutcome && s.sent.step.duplicateOf === undefined)
    .map((s) => {
      const expected = s.sent.step.expect.runOutcome!;
      const seen = s.runOutcome;
      const alert = expected === 'succeeded' ? 'none (not asked)' : 'one, naming the load';
      return [
        String(s.sent.index + 1),
        seen ? `job ${seen.jobId}, run ${seen.runId ?? '?'}` : '—',
        seen?.status ?? 'no outcome',
        seen?.errorMessage ?? '—',
        alert,
        seen?.status === expected ? paint('green', '✔') : paint('red', `✗ expected ${expected}`),
      ];
    });
  if (rows.length) console.log(`dbt Cloud loop (run webhooks → /dbt-cloud → the load's audit record):\n${table(['#', 'run', 'outcome recorded', 'error', 'Slack alert', 'as expected'], rows, { width, keep: new Set([0, 2, 5]) })}\n`);
}

const countRuns = (o: ScenarioOutcome) => new Set(o.steps.flatMap((s) => s.dbtRuns)).size;
const countMessages = (o: ScenarioOutcome) => new Set(o.steps.flatMap((s) => s.slackMessages)).size;

let code = 1;
try {
  code = await main();
} catch (error) {
  console.error(paint('red', `demo failed: ${(error as Error).message}`));
} finally {
  await (stack ? stack.stop() : stopAll());
}
process.exit(code);
