import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pubsubResource } from '../../../functions/shared/deployment-names.js';

// `terraform output` prints a topic or subscription as its full id; people also type the
// short name. Both must reach the same resource, and nothing else may pass as either.

const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9._~%+-]{2,40}$/).filter((n) => !n.startsWith('goog'));
const project = fc.stringMatching(/^[a-z][a-z0-9-]{4,20}[a-z0-9]$/);

describe('pubsubResource (a topic or subscription by short name or full id)', () => {
  it('the short name in a project and the full id of that project name the same resource', () => {
    fc.assert(
      fc.property(fc.constantFrom('topics' as const, 'subscriptions' as const), name, project, fc.option(project, { nil: undefined }), (kind, n, p, ambient) => {
        const fromName = pubsubResource(kind, n, p);
        const fromId = pubsubResource(kind, `projects/${p}/${kind}/${n}`, ambient);
        assert.deepEqual(fromName, { path: `projects/${p}/${kind}/${n}`, project: p, name: n });
        // A full id keeps its own project, whatever the ambient one is.
        assert.deepEqual(fromId, fromName);
      }),
    );
  });

  const refused: Array<[string, 'topics' | 'subscriptions', string, string | undefined, RegExp]> = [
    ['a subscription id given for a topic', 'topics', 'projects/p-roject/subscriptions/postload-dead-letter', 'p-roject', /names subscriptions, not topics/],
    ['an id prefixed twice (what the CLI once built)', 'subscriptions', 'projects/p-roject/subscriptions/projects/p-roject/subscriptions/x-y-z', 'p-roject', /neither a subscription name nor a full id/],
    ['a name starting with goog', 'topics', 'google-events', 'p-roject', /not a Pub\/Sub topic name/],
    ['a name too short', 'subscriptions', 'dl', 'p-roject', /not a Pub\/Sub subscription name/],
    ['a short name with no project to resolve it in', 'subscriptions', 'postload-dead-letter', undefined, /a project is needed/],
    ['a project id that is none', 'topics', 'projects/Bad_Project/topics/sync-events', undefined, /is not a project id/],
  ];
  for (const [what, kind, value, p, message] of refused) {
    it(`refuses ${what}`, () => assert.throws(() => pubsubResource(kind, value, p), message));
  }

  it('takes a domain-scoped project id', () => {
    assert.equal(pubsubResource('topics', 'projects/example.com:data-platform/topics/sync-events', undefined).project, 'example.com:data-platform');
  });
});
