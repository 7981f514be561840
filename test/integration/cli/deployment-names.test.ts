import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Value } from '../../support/hcl-eval.js';
import { emulator } from '../../support/global-hooks.js';
import { EmulatorPubSub } from '../../support/pubsub-emulator.js';
import { runCli } from '../../support/run-cli.js';
import { expandLocals } from '../../support/terraform-monitoring.js';
import { firstBody, loadTerraform, type TerraformConfig } from '../../support/terraform-checks.js';
import { plan, type Apply } from '../../support/terraform-eval.js';

// The deployment contract, for the names `postload replay` works with, on the Pub/Sub
// emulator: the topic and the dead-letter subscription are created as Terraform names them
// (evaluated from terraform/, never restated here), a dead letter waits on them, and the
// CLI is run as a person would run it: with no setting on a deployment made with the
// defaults, with each form `terraform output` prints, and with exactly the command each
// alert's documentation gives on-call, on a deployment whose names are not the defaults.
// The dead letter must come back on the topic every time.

// No metadata server here: without this the Google auth library probes for one.
process.env.METADATA_SERVER_DETECTION ??= 'none';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ROUTING = join(ROOT, 'functions/local/routing.local.json');

interface Deployment {
  project: string;
  apply: Apply;
  topic: { name: string; id: string };
  deadLetters: { name: string; id: string; topic: string };
}

/** Terraform's names for a deployment with these variables, from the HCL. */
function deployment(config: TerraformConfig, variables: Record<string, Value>): Deployment {
  const apply = plan(config, { dbt_cloud_account_id: '12345', routing_config_file: ROUTING, ...variables });
  const attr = (type: string, name: string, attribute: string) => String((apply.resource(type, name) as Record<string, Value>)[attribute]);
  // The dead-letter subscription is the pull subscription on the processor subscription's dead-letter topic.
  const processor = config.resources.find((r) => r.type === 'google_pubsub_subscription' && firstBody(r.body.dead_letter_policy).dead_letter_topic !== undefined)!;
  const deadLetterTopic = /google_pubsub_topic\.(\w+)/.exec(String(firstBody(processor.body.dead_letter_policy).dead_letter_topic))![1]!;
  const pull = config.resources.find((r) => r.type === 'google_pubsub_subscription' && String(r.body.topic).includes(`google_pubsub_topic.${deadLetterTopic}.`))!;
  const topic = /google_pubsub_topic\.(\w+)/.exec(String(processor.body.topic))![1]!;
  return {
    project: String(variables.project_id),
    apply,
    topic: { name: attr('google_pubsub_topic', topic, 'name'), id: attr('google_pubsub_topic', topic, 'id') },
    deadLetters: { name: attr('google_pubsub_subscription', pull.name, 'name'), id: attr('google_pubsub_subscription', pull.name, 'id'), topic: attr('google_pubsub_topic', deadLetterTopic, 'name') },
  };
}

/** Splits a documented command line into its words (double quotes group). */
function words(command: string): string[] {
  return [...command.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

describe('postload replay finds what Terraform created, by every name it prints (Pub/Sub emulator)', function () {
  this.timeout(120_000);

  let config: TerraformConfig;
  let pubsubHost: string;
  let firestoreHost: string;

  before(async function () {
    pubsubHost = await emulator('pubsub', this);
    firestoreHost = await emulator('firestore', this);
    const loaded = await loadTerraform(join(ROOT, 'terraform'));
    assert.deepEqual(loaded.problems, []);
    config = loaded.config;
  });

  /** Creates the deployment's topics and subscriptions on the emulator, with one dead letter waiting; returns a check that it came back on the topic. */
  async function withDeadLetter(target: Deployment): Promise<{ env: Record<string, string>; cameBack: () => Promise<boolean> }> {
    const admin = new EmulatorPubSub(pubsubHost, target.project);
    await admin.ensureTopic(target.topic.name);
    await admin.ensureTopic(target.deadLetters.topic);
    await admin.ensurePullSubscription(target.deadLetters.name, target.deadLetters.topic);
    const watch = await admin.createPullSubscription(target.topic.name, `watch-${randomUUID().slice(0, 8)}`);
    // Whatever an earlier case left on the dead-letter subscription goes first.
    await admin.pull(target.deadLetters.name);
    const eventId = randomUUID().replace(/-/g, '');
    await admin.publish(target.deadLetters.topic, [{ data: JSON.stringify({ id: eventId }), attributes: { eventId, CloudPubSubDeadLetterSourceDeliveryCount: '10' } }]);
    return {
      env: { PUBSUB_EMULATOR_HOST: pubsubHost, FIRESTORE_EMULATOR_HOST: firestoreHost },
      cameBack: async () => (await admin.pullAtLeast(watch, 1, 5_000)).some((m) => m.attributes.eventId === eventId),
    };
  }

  it('with no setting, on a deployment made with the defaults', async () => {
    const target = deployment(config, { project_id: 'my-data-platform' });
    const { env, cameBack } = await withDeadLetter(target);
    const run = await runCli(['replay', '--project', target.project], env);
    assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);
    assert.ok(await cameBack(), `the dead letter on ${target.deadLetters.id} came back on ${target.topic.id}: ${run.stdout}`);
  });

  const namings: Array<Record<string, string>> = [{ project_id: 'my-data-platform' }, { project_id: 'acme-data', name_prefix: 'acme', sync_events_topic_name: 'acme-syncs' }];
  for (const variables of namings) {
    for (const form of ['name', 'id', 'output'] as const) {
      it(`DEAD_LETTER_SUBSCRIPTION and SYNC_EVENTS_TOPIC as the resources' ${form === 'output' ? 'terraform output values' : form + 's'}, names ${variables.name_prefix ?? 'default'}`, async () => {
        const target = deployment(config, variables);
        const value = (which: 'topic' | 'deadLetters', output: string) => {
          if (form === 'name') return target[which].name;
          if (form === 'id') return target[which].id;
          const declared = config.outputs.get(output);
          assert.ok(declared, `terraform/ declares the output ${output}`);
          return String(target.apply.value(declared.body.value));
        };
        const { env, cameBack } = await withDeadLetter(target);
        const run = await runCli(['replay', '--project', target.project], {
          ...env,
          DEAD_LETTER_SUBSCRIPTION: value('deadLetters', 'dead_letter_subscription'),
          SYNC_EVENTS_TOPIC: value('topic', 'sync_events_topic'),
        });
        assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);
        assert.ok(await cameBack(), `the dead letter came back on ${target.topic.id}`);
      });
    }
  }

  it('exactly the `postload replay` each alert tells on-call to run, on a deployment whose names are not the defaults', async () => {
    const target = deployment(config, { project_id: 'acme-data', name_prefix: 'acme', sync_events_topic_name: 'acme-syncs', alerts_enabled: true });
    const commands = config.resources
      .filter((r) => r.type === 'google_monitoring_alert_policy' && String(firstBody(r.body.documentation).content ?? '').includes('postload replay'))
      .flatMap((policy) => [...String(target.apply.value(expandLocals(config, String(firstBody(policy.body.documentation).content ?? '')))).matchAll(/`(postload replay[^`]*)`/g)].map((m) => ({ policy: policy.name, command: m[1]! })));
    const replays = commands.filter(({ command }) => !/--dry-run/.test(command));
    assert.ok(replays.length >= 1, `an alert tells on-call how to replay (found: ${commands.map((c) => c.command).join('; ')})`);
    for (const { policy, command } of replays) {
      const { env, cameBack } = await withDeadLetter(target);
      // On-call's own gcloud project may be any: the command must not depend on it.
      const run = await runCli(words(command).slice(1), { ...env, GOOGLE_CLOUD_PROJECT: 'someone-elses-project' });
      assert.equal(run.code, 0, `${policy}: \`${command}\`: ${run.stdout}${run.stderr}`);
      assert.ok(await cameBack(), `${policy}: \`${command}\` brought the dead letter back on ${target.topic.id}`);
    }
  });
});
