import assert from 'node:assert/strict';
import fc from 'fast-check';
import { interpret } from '../../../../functions/ingest/interpret.js';
import { quarantinedEvent } from '../../../../functions/ingest/quarantine.js';
import { renderQuarantineAlert } from '../../../../functions/processor/clients/quarantine-message.js';
import { linkPolicy, renderEventMessage } from '../../../../functions/processor/clients/slack-message.js';
import { fixtureText } from '../../../support/webhook-fixtures.js';

const allText = (message: { text: string; blocks: unknown[] }) => `${message.text}\n${JSON.stringify(message.blocks)}`;

describe('processor/clients/quarantine-message', () => {
  it('names what postload did not understand (codes, fields, messages, the vendor event) and where to look', () => {
    // A real Fivetran body with a connector id of the wrong type, through the real ingest interpretation.
    const body = { event: 'sync_end', created: '2026-11-29T12:00:00Z', connector_type: 'postgres', connector_id: 42, destination_group_id: 'g', data: { status: 'SUCCESSFUL' } };
    const event = interpret('fivetran', Buffer.from(JSON.stringify(body)), new Date('2026-11-29T12:00:01Z'));
    assert.equal(event.type, 'quarantined');
    const message = renderQuarantineAlert(event, ['schema_violation']);
    const text = allText(message);
    assert.match(text, /postload could not interpret a Fivetran webhook \(sync_end\)/);
    assert.match(text, /`schema_violation` at `\/connector_id`/);
    assert.match(text, new RegExp(`postload event ${event.id}`));
    assert.match(text, /postload events --type quarantined --source fivetran/);
    assert.match(text, /started nothing/);
    assert.match(message.text, /schema_violation at \/connector_id/);
  });

  it('an Airbyte body with no event name says so without inventing one', () => {
    const event = quarantinedEvent({ source: 'airbyte', raw: Buffer.from('not json'), problems: [{ code: 'invalid_json', message: 'the body is not valid JSON' }], receivedAt: new Date() });
    const header = (renderQuarantineAlert(event, ['invalid_json']).blocks[0] as { text: { text: string } }).text.text;
    assert.equal(header, ':warning: postload could not interpret an Airbyte webhook');
  });

  it('property: vendor text is escaped (no links or mentions) and every block stays within Slack\'s limits', () => {
    const text = fc.string({ maxLength: 4000 });
    fc.assert(
      fc.property(fc.array(fc.record({ code: text, message: text, pointer: fc.option(text) }), { maxLength: 12 }), text, (problems, vendorEvent) => {
        const event = quarantinedEvent({ source: 'fivetran', raw: Buffer.from('{}'), parsed: {}, vendorEvent: vendorEvent || 'x', problems, receivedAt: new Date() });
        const message = renderQuarantineAlert(event, problems.map((p) => p.code));
        assert.ok(message.text.length <= 3000);
        assert.ok(message.blocks.length <= 50);
        for (const block of message.blocks as Array<{ type: string; text?: { text: string }; fields?: Array<{ text: string }>; elements?: Array<{ text: string }> }>) {
          if (block.type === 'header') assert.ok(block.text!.text.length <= 150);
          if (block.text && block.type === 'section') assert.ok(block.text.text.length <= 3000);
          for (const item of [...(block.fields ?? []), ...(block.elements ?? [])]) assert.ok(item.text.length <= 3000);
        }
        const mrkdwn = allText({ text: message.text, blocks: message.blocks.filter((b) => (b as { type: string }).type !== 'header') });
        assert.ok(!/<[!@#]|<https?:/.test(mrkdwn), 'vendor text became a mention or a link');
      }),
      { seed: 9, numRuns: 150 },
    );
  });

  it('a test notification, when a route notifies it, says it is a test and that tests start nothing', () => {
    const event = interpret('airbyte', Buffer.from(fixtureText('airbyte', 'test-sync-succeeded')), new Date());
    const text = allText(renderEventMessage(event, [], { links: linkPolicy('https://cloud.getdbt.com') }));
    assert.match(text, /Airbyte test notification/);
    assert.match(text, /a test never starts dbt Cloud jobs/);
  });
});
