import assert from 'node:assert/strict';
import { classifyError, classifyHttpStatus, PermanentError, TransientError } from '../../../functions/processor/errors.js';
import { InvalidSyncEventError } from '../../../functions/shared/sync-event.js';
import { MissingSecretError, SecretUnavailableError } from '../../../functions/shared/secrets.js';

describe('processor/errors', () => {
  describe('classifyHttpStatus', () => {
    const table: Array<[number, string]> = [
      [200, 'success'], [201, 'success'], [204, 'success'],
      [400, 'permanent'], [401, 'permanent'], [403, 'permanent'], [404, 'permanent'], [410, 'permanent'], [422, 'permanent'],
      [408, 'transient'], [429, 'transient'], [500, 'transient'], [502, 'transient'], [503, 'transient'], [504, 'transient'],
    ];
    for (const [status, kind] of table) it(`${status} is ${kind}`, () => assert.equal(classifyHttpStatus(status), kind));
  });

  describe('classifyError', () => {
    const table: Array<[string, unknown, 'transient' | 'permanent']> = [
      ['a PermanentError', new PermanentError('job 4 not found', { system: 'dbt Cloud', status: 404 }), 'permanent'],
      ['an invalid SyncEvent', new InvalidSyncEventError([{ field: '/id', message: 'is required' }]), 'permanent'],
      ['a secret nobody set', new MissingSecretError('DBT_CLOUD_API_TOKEN'), 'permanent'],
      ['a TransientError', new TransientError('HTTP 503', { system: 'Slack', status: 503 }), 'transient'],
      ['Secret Manager unavailable', new SecretUnavailableError('SLACK_WEBHOOK_URL', new Error('UNAVAILABLE')), 'transient'],
      ['Firestore UNAVAILABLE (14)', Object.assign(new Error('14 UNAVAILABLE'), { code: 14 }), 'transient'],
      ['Firestore DEADLINE_EXCEEDED (4)', Object.assign(new Error('4 DEADLINE_EXCEEDED'), { code: 4 }), 'transient'],
      ['Firestore ABORTED (10)', Object.assign(new Error('10 ABORTED'), { code: 10 }), 'transient'],
      ['Firestore INVALID_ARGUMENT (3)', Object.assign(new Error('3 INVALID_ARGUMENT'), { code: 3 }), 'permanent'],
      ['an unknown error (redelivery loses nothing)', new Error('surprise'), 'transient'],
      ['a thrown string', 'surprise', 'transient'],
    ];
    for (const [name, error, kind] of table) it(`${name} is ${kind}`, () => assert.equal(classifyError(error), kind));
  });

  it('errors say which system failed and keep the status', () => {
    const error = new PermanentError('gone', { system: 'Slack', status: 410 });
    assert.equal(error.system, 'Slack');
    assert.equal(error.status, 410);
    assert.equal(error.kind, 'permanent');
  });
});
