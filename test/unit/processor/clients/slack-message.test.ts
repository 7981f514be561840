import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { DbtCloudWebhook } from '../../../../functions/generated/dbt-cloud-webhook.schema.js';
import { normaliseDbtCloud } from '../../../../functions/ingest/dbt-cloud/normalise.js';
import { allowedUrl, codeBlock, escape, formatBytes, formatDuration, linkPolicy, mrkdwnLink, renderEventMessage, renderInvalidMessage, truncate, vendorName, type SlackMessage } from '../../../../functions/processor/clients/slack-message.js';
import type { RunOrigin } from '../../../../functions/processor/store/run-origin.js';
import { fixture } from '../../../support/webhook-fixtures.js';
import { airbyteSucceeded, failedSync, schemaChanged, syncEvent } from '../../../support/sync-event-fixtures.js';

/** A deployment on dbt Cloud's legacy US host, with no extra link origins. */
const LINKS = linkPolicy('https://cloud.getdbt.com');

function allText(message: SlackMessage): string {
  return JSON.stringify(message.blocks);
}

function checkLimits(message: SlackMessage): void {
  assert.ok(message.text.length > 0 && message.text.length <= 3000);
  assert.ok(message.blocks.length <= 50);
  for (const block of message.blocks) {
    if (block.type === 'header') assert.ok(((block.text as { text: string }).text).length <= 150);
    if (block.type === 'section' && block.text) assert.ok(((block.text as { text: string }).text).length <= 3000);
    if (block.type === 'section' && block.fields) assert.ok((block.fields as unknown[]).length <= 10);
  }
}

describe('processor/slack-message', () => {
  it('a failed sync: connector, destination, status, reason, and that no dbt job ran', () => {
    const event = failedSync();
    const message = renderEventMessage(event, [], { links: LINKS });
    checkLimits(message);
    const blocks = allText(message);
    assert.match(message.text, /^Fivetran sync failed: ftar_pg — Cannot connect to the database/);
    assert.equal(message.blocks[0]?.type, 'header');
    assert.match(blocks, /ftar_pg \(`assimilate_seem`\)/);
    assert.match(blocks, /inappropriate_implode/);
    assert.match(blocks, /FAILURE_WITH_TASK/);
    assert.match(blocks, /\*Reason\* \(reconnect\)/);
    assert.match(blocks, /password authentication failed/);
    assert.match(blocks, /no dbt Cloud job is routed for sync.failed/);
    assert.ok(blocks.includes(event.id), 'the event id is in the context line');
  });

  it('a success: volumes, duration, the vendor link and the dbt runs started with their links', () => {
    const event = airbyteSucceeded();
    const message = renderEventMessage(event, [{ jobId: '21', label: 'dbt Cloud job 21', state: 'started', runId: 70000001, href: 'https://cloud.getdbt.com/deploy/1/projects/1/runs/70000001/' }], { links: LINKS });
    checkLimits(message);
    const blocks = allText(message);
    assert.match(message.text, /Airbyte sync succeeded: finance_postgres \(started dbt jobs 21\)/);
    assert.match(blocks, /1,200 records, 2.5 MB, in 2m 5s/);
    assert.match(blocks, /<https:\/\/cloud.getdbt.com\/deploy\/1\/projects\/1\/runs\/70000001\/\|run 70000001>/);
    const actions = message.blocks.find((b) => b.type === 'actions') as { elements: Array<{ url: string; text: { text: string } }> };
    assert.equal(actions.elements[0]?.url, event.connector.url);
    assert.equal(actions.elements[0]?.text.text, 'Open in Airbyte');
  });

  it('a schema change shows the vendor text', () => {
    const message = renderEventMessage(schemaChanged(), [], { links: LINKS });
    checkLimits(message);
    assert.match(message.text, /Airbyte schema changed/);
    assert.match(allText(message), /2 new columns in public.invoices/);
  });

  it('an alert for a job that could not start says what is wrong', () => {
    const message = renderEventMessage(syncEvent(), [{ jobId: '404', label: 'dbt Cloud job 404', state: 'failed', error: 'dbt Cloud job 404 was not found in account 1' }], { links: LINKS, alert: true });
    assert.match(message.text, /postload could not start dbt Cloud jobs for Fivetran ftar_pg \(could not start dbt jobs 404\)/);
    assert.match(allText(message), /:x: dbt Cloud job 404 was not started: dbt Cloud job 404 was not found/);
  });

  it('jobs still retrying or held by another delivery are reported as such', () => {
    const blocks = allText(renderEventMessage(syncEvent(), [{ jobId: '1', label: 'dbt Cloud job 1', state: 'retrying', error: 'HTTP 503' }, { jobId: '2', label: 'dbt Cloud job 2', state: 'in-progress' }], { links: LINKS }));
    assert.match(blocks, /dbt Cloud job 1 not started yet, will retry: HTTP 503/);
    assert.match(blocks, /dbt Cloud job 2 is being started by another delivery/);
  });

  it('escapes vendor text so it cannot inject links or mentions, and bounds long text', () => {
    const message = renderEventMessage(failedSync({ connector: { name: '<!channel> & <http://evil|x>' }, error: { message: 'x'.repeat(10_000) } }), [], { links: LINKS });
    checkLimits(message);
    // Headers are plain_text (never parsed); everything read as mrkdwn is escaped.
    const mrkdwn = JSON.stringify([message.text, ...message.blocks.filter((b) => b.type !== 'header')]);
    assert.ok(!mrkdwn.includes('<!channel>'));
    assert.match(mrkdwn, /&lt;!channel&gt; &amp; &lt;http:\/\/evil\|x&gt;/);
    assert.match(message.text, /^Fivetran sync failed: &lt;!channel&gt;/);
  });

  it('never links to a non-http vendor URL', () => {
    const message = renderEventMessage(airbyteSucceeded({ connector: { url: 'javascript:alert(1)' } }), [], { links: LINKS });
    assert.equal(message.blocks.find((b) => b.type === 'actions'), undefined);
  });

  it('the invalid-message alert lists the problems', () => {
    const message = renderInvalidMessage('12345', [{ field: '/id', message: 'is required' }]);
    checkLimits(message);
    assert.match(message.text, /Pub\/Sub message 12345: not a valid SyncEvent \(\/id is required\)/);
  });

  it('formats bytes, durations and escapes', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 KB');
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(3725), '1h 2m 5s');
    assert.equal(formatDuration(3600), '1h');
    assert.equal(escape('a<b>&c'), 'a&lt;b&gt;&amp;c');
  });

  it('names each vendor as people write it; dbt Cloud is never labelled Airbyte', () => {
    assert.equal(vendorName('fivetran'), 'Fivetran');
    assert.equal(vendorName('airbyte'), 'Airbyte');
    assert.equal(vendorName('dbt-cloud'), 'dbt Cloud');
    assert.equal(vendorName('stitch'), 'stitch', 'a future source shows as itself');
    const scheduled = normaliseDbtCloud(fixture<DbtCloudWebhook>('dbt-cloud', 'job.run.completed-success'), new Date());
    assert.match(renderEventMessage(scheduled, [], { links: LINKS }).text, /^dbt Cloud transformation succeeded: Nightly build/);
  });

  it('a failed run postload started names the load that started it and the error, and no other event id', () => {
    const event = normaliseDbtCloud(fixture<DbtCloudWebhook>('dbt-cloud', 'job.run.completed-errored'), new Date());
    const origin: RunOrigin = {
      eventId: '6e84f591dfdad48136bab0ac6e4c52b8', actionId: 'dbt-job-101', source: 'fivetran', type: 'sync.succeeded',
      connectorId: 'assimilate_seem', connectorName: 'orders_pg', syncId: 'b4703f73', syncAt: '2026-11-20T10:38:00.000Z', runHref: 'https://cloud.getdbt.com/deploy/1/projects/3/runs/70000123/',
    };
    const message = renderEventMessage(event, [], { links: LINKS, origin });
    checkLimits(message);
    assert.match(message.text, /^dbt Cloud transformation failed: Nightly build — Database Error in model orders \(started by postload for Fivetran sync\.succeeded of orders_pg \(assimilate_seem\), sync b4703f73, at 2026-11-20T10:38:00\.000Z\)$/);
    const blocks = allText(message);
    assert.match(blocks, /\*Started by postload\* for Fivetran sync.succeeded of orders_pg/);
    assert.match(blocks, /<https:\/\/cloud.getdbt.com\/deploy\/1\/projects\/3\/runs\/70000123\/\|run 70000123>/);
    assert.match(blocks, /Database Error in model orders/);
    assert.ok(!blocks.includes(origin.eventId) && !message.text.includes(origin.eventId), 'the load is named by what people know, not by its event id');
    assert.ok(!blocks.includes('What postload did'));
  });

  // A lone surrogate makes the message invalid UTF-8, which Slack refuses (400 invalid_payload):
  // a permanent failure caused by where a long vendor text happened to be cut.
  it('truncates within the limit and never leaves half of a surrogate pair', () => {
    assert.equal(truncate('short', 10), 'short');
    assert.equal(truncate(`${'a'.repeat(8)}😀tail`, 10), `${'a'.repeat(8)}…`);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.integer({ min: 2, max: 120 }), (text, max) => {
        const cut = truncate(text, max);
        assert.ok(cut.length <= max);
        assert.doesNotMatch(cut, /\p{Cs}/u, JSON.stringify(cut)); // no lone surrogate
        if (text.length <= max) assert.equal(cut, text);
      }),
      { seed: 20261129, numRuns: 500 },
    );
  });
  describe('vendor text and links (issue 25, findings 2 and 8)', () => {
    /** Every mrkdwn string of a message: the fallback text, sections, fields, context. Headers are plain_text, never parsed. */
    function mrkdwnTexts(message: SlackMessage): string[] {
      const texts = [message.text];
      for (const block of message.blocks) {
        if (block.type === 'header' || block.type === 'actions') continue;
        const text = (block.text as { text?: string } | undefined)?.text;
        if (text) texts.push(text);
        for (const field of (block.fields ?? []) as Array<{ text: string }>) texts.push(field.text);
        for (const element of (block.elements ?? []) as Array<{ text: string }>) texts.push(element.text);
      }
      return texts;
    }

    /** Every `<…>` Slack would act on: each must be a link postload made to an allowed origin. */
    function controlSequences(message: SlackMessage): string[] {
      return mrkdwnTexts(message).flatMap((text) => text.match(/<[^>]*>/g) ?? []);
    }

    const HOSTILE_ERROR = 'ERROR: duplicate key value violates unique constraint. Row: (1, "<!channel> Your warehouse credentials expired: <https://evil.example/login|Re-authenticate> & ```code```")';

    it('a database error quoting a row with <!channel> and a "Re-authenticate" link shows as text in the Reason block, never as a ping or a link', () => {
      // dbt Cloud's run status message, as the ingest function normalises its errored run webhook.
      const errored = fixture<DbtCloudWebhook>('dbt-cloud', 'job.run.completed-errored');
      const dbtRun = normaliseDbtCloud({ ...errored, data: { ...errored.data, runStatusMessage: HOSTILE_ERROR } }, new Date());
      for (const event of [failedSync({ error: { message: HOSTILE_ERROR } }), airbyteSucceeded({ type: 'sync.failed', error: { message: HOSTILE_ERROR, type: '<!here>', origin: 'source' } }), dbtRun]) {
        const message = renderEventMessage(event, [], { links: LINKS });
        checkLimits(message);
        assert.deepEqual(controlSequences(message), [], JSON.stringify(message));
        const reason = mrkdwnTexts(message).find((t) => t.startsWith('*Reason*'))!;
        assert.ok(reason.includes('&lt;!channel&gt; Your warehouse credentials expired: &lt;https://evil.example/login|Re-authenticate&gt; &amp;'), reason);
        assert.ok(!/`{3}code`{3}/.test(reason), 'the vendor cannot close the code block');
        assert.doesNotMatch(message.text, /<!channel>|<https:\/\/evil/);
      }
    });

    it('property: whatever a vendor writes in any field, the only <…> in the message are links postload made to allowed origins', () => {
      const hostile = fc.oneof(fc.string(), fc.constantFrom('<!channel>', '<!here|here>', '<@U123>', '<https://evil.example|Re-authenticate>', '&lt;', '```', '>', '|', 'https://evil.example/x>y|z'));
      const url = fc.oneof(hostile, fc.webUrl(), fc.constantFrom('https://cloud.airbyte.com/workspaces/w/connections/c|<!channel>', 'https://evil.example/cloud.airbyte.com', 'https://cloud.airbyte.com.evil.example/', 'http://cloud.airbyte.com/x', 'https://cloud.getdbt.com/deploy/1/runs/2/?a=1&b=<!channel>|x'));
      fc.assert(
        fc.property(hostile, hostile, hostile, hostile, url, url, fc.boolean(), fc.boolean(), (name, error, summary, status, connectorUrl, href, failed, started) => {
          const event = airbyteSucceeded({
            ...(failed ? { type: 'sync.failed', error: { message: error, type: status } } : { summary }),
            connector: { name, url: connectorUrl },
            destination: { name: summary },
            sync: { id: status, status: failed ? 'failed' : 'succeeded', vendorStatus: status, startedAt: null, finishedAt: '2026-05-22T00:02:05Z' },
          });
          // A dbt Cloud run postload started names the load behind it: vendor text from another event.
          const origin: RunOrigin | undefined = started ? { eventId: 'e'.repeat(32), actionId: 'dbt-job-7', source: 'fivetran', type: 'sync.succeeded', connectorId: status, connectorName: name, syncId: summary, syncAt: error, runHref: href } : undefined;
          const message = renderEventMessage(event, [{ jobId: '7', label: 'dbt Cloud job 7', state: 'started', runId: 1, href }, { jobId: '8', label: 'dbt Cloud job 8', state: 'failed', error }], { links: LINKS, ...(origin ? { origin } : {}) });
          for (const sequence of controlSequences(message)) {
            // Slack splits a link at its first |: the URL (with | encoded) before it, the label (escaped) after.
            const link = /^<([^|<>]*)\|[^<>]*>$/.exec(sequence);
            assert.ok(link, `not a link: ${sequence}`);
            assert.ok(allowedUrl(link[1]!.replace(/&amp;/g, '&'), LINKS.dbtCloud), `link to a host not allowed: ${sequence}`);
          }
          const button = message.blocks.find((b) => b.type === 'actions') as { elements: Array<{ url: string }> } | undefined;
          if (button) assert.equal(new URL(button.elements[0]!.url).hostname.endsWith('.airbyte.com'), true, button.elements[0]!.url);
        }),
        { seed: 2025, numRuns: 400 },
      );
    });

    it('links a dbt run only to the configured dbt Cloud origin; elsewhere the run is named, unlinked', () => {
      const run = (href: string) => allText(renderEventMessage(syncEvent(), [{ jobId: '21', label: 'dbt Cloud job 21', state: 'started', runId: 5, href }], { links: LINKS }));
      assert.match(run('https://cloud.getdbt.com/deploy/1/projects/1/runs/5/'), /<https:\/\/cloud.getdbt.com\/deploy\/1\/projects\/1\/runs\/5\/\|run 5>/);
      for (const elsewhere of ['https://evil.example/deploy/1/runs/5/', 'https://cloud.getdbt.com.evil.example/', 'http://cloud.getdbt.com/deploy/', 'javascript:alert(1)', 'https://user:pw@cloud.getdbt.com/']) {
        const text = run(elsewhere);
        assert.match(text, /Started dbt Cloud job 21: run 5/, elsewhere);
        assert.ok(!text.includes('<http') && !text.includes('<javascript'), elsewhere);
      }
      // An account-scoped host is its own origin: links there, not to the legacy host.
      const scoped = linkPolicy('https://ab123.us1.dbt.com');
      assert.ok(allowedUrl('https://ab123.us1.dbt.com/deploy/1/projects/1/runs/5/', scoped.dbtCloud));
      assert.equal(allowedUrl('https://cloud.getdbt.com/deploy/1/projects/1/runs/5/', scoped.dbtCloud), undefined);
      // The local stack's stand-in: its exact origin, http included.
      assert.ok(allowedUrl('http://127.0.0.1:8082/deploy/1/runs/5/', linkPolicy('http://127.0.0.1:8082').dbtCloud));
      assert.equal(allowedUrl('http://127.0.0.1:9999/deploy/1/runs/5/', linkPolicy('http://127.0.0.1:8082').dbtCloud), undefined);
    });

    it('escapes | and > so an allowed URL cannot end the link early or rename it', () => {
      const link = mrkdwnLink('https://cloud.getdbt.com/deploy/1/runs/5/?q=a|b>c&d=1#x|<!channel>', 'run 5', LINKS.dbtCloud);
      assert.equal(link, '<https://cloud.getdbt.com/deploy/1/runs/5/?q=a%7Cb%3Ec&amp;d=1#x%7C%3C!channel%3E|run 5>');
      assert.equal(mrkdwnLink('https://evil.example/', '<!channel>', LINKS.dbtCloud), '&lt;!channel&gt;');
    });

    it("offers the 'Open in' button only for the vendor's own host (or an origin SLACK_LINK_HOSTS adds)", () => {
      const button = (url: string, links = LINKS) =>
        (renderEventMessage(airbyteSucceeded({ connector: { url } }), [], { links }).blocks.find((b) => b.type === 'actions') as { elements: Array<{ url: string }> } | undefined)?.elements[0]?.url;
      assert.equal(button('https://cloud.airbyte.com/workspaces/w/connections/c'), 'https://cloud.airbyte.com/workspaces/w/connections/c');
      for (const elsewhere of ['https://evil.example/workspaces/w', 'https://airbyte.com.evil.example/', 'http://cloud.airbyte.com/x', 'https://airbyte.internal.example/workspaces/w']) assert.equal(button(elsewhere), undefined, elsewhere);
      // A self-managed Airbyte, allowed by its origin.
      assert.equal(button('https://airbyte.internal.example/workspaces/w', linkPolicy('https://cloud.getdbt.com', ['https://airbyte.internal.example'])), 'https://airbyte.internal.example/workspaces/w');
      // A Fivetran event with an Airbyte URL is not the vendor's own host.
      const fivetran = renderEventMessage(syncEvent({ connector: { url: 'https://cloud.airbyte.com/x' } }), [], { links: LINKS });
      assert.equal(fivetran.blocks.find((b) => b.type === 'actions'), undefined);
    });

    it('codeBlock escapes, defuses fences and never cuts an entity in half', () => {
      assert.equal(codeBlock('a<b', 100), '```a&lt;b```');
      assert.equal(codeBlock('x```y', 100), "```x'''y```");
      fc.assert(
        fc.property(fc.string({ unit: fc.constantFrom('<', '>', '&', 'a', '`') }), fc.integer({ min: 8, max: 60 }), (text, max) => {
          const block = codeBlock(text, max);
          assert.ok(block.length <= max, block);
          const inner = block.slice(3, -3);
          assert.doesNotMatch(inner, /[<>]|```/);
          assert.doesNotMatch(inner, /&(?!(?:amp|lt|gt);)/, `a cut entity in ${inner}`);
        }),
        { seed: 7, numRuns: 500 },
      );
    });
  });
});
