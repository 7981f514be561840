import assert from 'node:assert/strict';
import fc from 'fast-check';
import { renderJson, renderString, TemplateError, templateProblems, TEMPLATE_FIELDS } from '../../../../functions/processor/planning/templates.js';
import { airbyteSucceeded, syncEvent } from '../../../support/sync-event-fixtures.js';

/** What a vendor could put in a name: anything printable or not, shell and dbt syntax included. */
const hostile = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.constantFrom('stripe --vars {x: 1}', 'a b', 'stripe+', 'tag:pii', '-x', '--full-refresh', "o'brien", 'x;rm -rf /', '$(id)', '`id`', 'a\nb', 'a\tb', '{{event.id}}', '../etc', 'stripe,orders', '@stripe', 'a.b', 'x=1', 'ü', '\u202eevil'),
);

describe('processor/planning/templates', () => {
  it('fills the fields an event carries', () => {
    const event = syncEvent({ connector: { id: 'assimilate_seem', name: 'stripe_prod' } });
    assert.equal(renderString('source:{{connector.schema}}+', event, '/args/2'), 'source:stripe_prod+');
    assert.equal(renderString('{{ source }}/{{connector.id}}/{{sync.id}}', event, 'x'), `fivetran/assimilate_seem/${event.sync.id}`);
    assert.equal(renderString('{{event.id}}', event, 'x'), event.id);
  });

  it('a field the event does not carry is a TemplateError saying why', () => {
    assert.throws(() => renderString('source:{{connector.schema}}+', airbyteSucceeded(), '/args/2'), (e: unknown) => e instanceof TemplateError && /only Fivetran/.test(e.message) && e.message.startsWith('/args/2'));
    assert.throws(() => renderString('{{tables}}', syncEvent(), 'x'), /listed no tables/);
  });

  it('tables: joined with spaces in a string, a list in a JSON string of its own', () => {
    const event = syncEvent({ vendorEvent: 'resync_table', type: 'other', payload: { event: 'resync_table', data: { schema: 'shop', table: 'orders' } } });
    assert.equal(renderString('--select {{tables}}', event, 'x'), '--select orders');
    assert.deepEqual(renderJson({ tables: '{{tables}}', select: 'source:{{connector.schema}}' }, event, '/conf'), { tables: ['orders'], select: 'source:ftar_pg' });
  });

  it('start-up refuses unknown fields, stray braces, and a list in a dbt Cloud step', () => {
    assert.deepEqual(templateProblems('dbt build -s {{connector.schema}}', 'command'), []);
    assert.match(templateProblems('{{connector.schemas}}', 'argument')[0]!, /not a template field .*\{\{connector\.schema\}\}/);
    assert.match(templateProblems('dbt build -s {{tables}}', 'command')[0]!, /cannot be used in a dbt Cloud step/);
    assert.deepEqual(templateProblems('--select {{tables}}', 'argument'), []);
    assert.match(templateProblems('a {{ b', 'json')[0]!, /not a \{\{field\}\} placeholder/);
  });

  it('property: a vendor value either fails or stays inside its one argument, adding no option, selector or operator', () => {
    fc.assert(
      fc.property(hostile, fc.constantFrom('connector.name', 'connector.id', 'connector.schema'), (name, field) => {
        const event = syncEvent({ connector: { id: field === 'connector.id' ? name : 'assimilate_seem', name: field === 'connector.id' ? 'ftar_pg' : name } });
        let rendered: string;
        try {
          rendered = renderString(`source:{{${field}}}+`, event, '/args/0');
        } catch (error) {
          assert.ok(error instanceof TemplateError);
          return;
        }
        assert.match(rendered, /^source:[A-Za-z0-9_][A-Za-z0-9_-]*\+$/, `${JSON.stringify(name)} → ${rendered}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: in a dbt Cloud step, a vendor value never changes the number of tokens nor adds a flag', () => {
    const step = 'dbt build --select source:{{connector.schema}}+ --target prod';
    const tokens = (s: string) => s.split(/\s+/).filter(Boolean);
    fc.assert(
      fc.property(hostile, (name) => {
        let rendered: string;
        try {
          rendered = renderString(step, syncEvent({ connector: { name } }), '/steps_override/0');
        } catch {
          return;
        }
        const got = tokens(rendered);
        assert.equal(got.length, tokens(step).length);
        assert.deepEqual(got.filter((t) => t.startsWith('-')), ['--select', '--target']);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: JSON stays JSON with the same keys, and every filled value matches its field\'s set', () => {
    fc.assert(
      fc.property(hostile, (name) => {
        let conf: unknown;
        try {
          conf = renderJson({ select: 'source:{{connector.name}}+', nested: ['{{connector.name}}'] }, syncEvent({ connector: { name } }), '/conf');
        } catch {
          return;
        }
        const filled = conf as { select: string; nested: string[] };
        assert.deepEqual(Object.keys(filled), ['select', 'nested']);
        assert.match(filled.nested[0]!, TEMPLATE_FIELDS['connector.name']!.pattern);
      }),
    );
  });

  it('a value is never itself a template (no second expansion)', () => {
    assert.throws(() => renderString('{{connector.name}}', syncEvent({ connector: { name: '{{event.id}}' } }), 'x'), TemplateError);
  });
});
