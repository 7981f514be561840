/**
 * The names terraform/ gives what postload reads and writes, at its variables' defaults.
 * The `postload` command and the local stack default to them, so that on a deployment made
 * with the defaults every command works with no setting. `terraform` says which resource or
 * variable each one mirrors and `output` which output prints it: the deployment contract
 * test (test/unit/deploy/) evaluates both in the HCL and fails when they disagree.
 */
export const DEPLOYMENT_NAMES = {
  /** The topic every SyncEvent is published to. */
  topic: { name: 'sync-events', setting: 'SYNC_EVENTS_TOPIC', terraform: 'google_pubsub_topic.sync_events', output: 'sync_events_topic' },
  /** The pull subscription where dead letters wait (`<name_prefix>-dead-letter`). */
  deadLetterSubscription: {
    name: 'postload-dead-letter',
    setting: 'DEAD_LETTER_SUBSCRIPTION',
    terraform: 'google_pubsub_subscription.dead_letter',
    output: 'dead_letter_subscription',
  },
  /** The Firestore collection of the audit trail. */
  auditCollection: { name: 'syncEvents', setting: 'AUDIT_COLLECTION', terraform: 'var.audit_collection', output: undefined },
} as const;

export type PubSubKind = 'topics' | 'subscriptions';

/** A Pub/Sub resource, resolved: its full path and the project it names. */
export interface PubSubResource {
  path: string;
  project: string;
  name: string;
}

// cloud.google.com/pubsub/docs/create-topic#resource_names: 3 to 255 characters, starting
// with a letter, letters, digits, - _ . ~ + %, not starting with "goog".
const NAME = /^(?!goog)[A-Za-z][A-Za-z0-9._~%+-]{2,254}$/;
// A project id, optionally domain-scoped (example.com:my-project).
const PROJECT = /^(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

/**
 * A topic or subscription given either way `terraform output` prints them: the short name
 * (`postload-dead-letter`, resolved in `project`) or the full id
 * (`projects/P/subscriptions/postload-dead-letter`, used as it is, with its own project).
 * Throws an Error naming what is wrong with anything else.
 */
export function pubsubResource(kind: PubSubKind, value: string, project: string | undefined): PubSubResource {
  const trimmed = value.trim();
  const full = /^projects\/([^/]+)\/(topics|subscriptions)\/([^/]+)$/.exec(trimmed);
  if (full) {
    const [, ownProject, ownKind, name] = full as unknown as [string, string, PubSubKind, string];
    if (ownKind !== kind) throw new Error(`"${trimmed}" names ${ownKind}, not ${kind}`);
    if (!PROJECT.test(ownProject)) throw new Error(`"${ownProject}" in "${trimmed}" is not a project id`);
    if (!NAME.test(name)) throw new Error(`"${name}" in "${trimmed}" is not a Pub/Sub ${kind.slice(0, -1)} name`);
    return { path: trimmed, project: ownProject, name };
  }
  if (trimmed.includes('/')) throw new Error(`"${trimmed}" is neither a ${kind.slice(0, -1)} name nor a full id projects/PROJECT/${kind}/NAME`);
  if (!NAME.test(trimmed)) throw new Error(`"${trimmed}" is not a Pub/Sub ${kind.slice(0, -1)} name (3-255 letters, digits, - _ . ~ + %, starting with a letter)`);
  if (!project) throw new Error(`"${trimmed}" is a short name: a project is needed to resolve it`);
  return { path: `projects/${project}/${kind}/${trimmed}`, project, name: trimmed };
}
