import assert from 'node:assert/strict';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { readPubSubMessage } from '../../../functions/processor/pubsub-message.js';

function cloudEvent(data: unknown): CloudEvent<unknown> {
  return { specversion: '1.0', id: 'ce-1', source: 's', type: 'google.cloud.pubsub.topic.v1.messagePublished', data } as CloudEvent<unknown>;
}

describe('processor/pubsub-message', () => {
  it('decodes the base64 body, attributes and message id', () => {
    const message = readPubSubMessage(cloudEvent({ message: { data: Buffer.from('{"a":1}').toString('base64'), attributes: { type: 'sync.failed', n: 1 }, messageId: '77' } }));
    assert.equal(message.data?.toString(), '{"a":1}');
    assert.deepEqual(message.attributes, { type: 'sync.failed' });
    assert.equal(message.messageId, '77');
  });

  it('accepts message_id and falls back to the CloudEvent id', () => {
    assert.equal(readPubSubMessage(cloudEvent({ message: { data: '', message_id: '88' } })).messageId, '88');
    assert.equal(readPubSubMessage(cloudEvent({ message: { data: '' } })).messageId, 'ce-1');
  });

  it('leaves data undefined when the message has none', () => {
    assert.equal(readPubSubMessage(cloudEvent({})).data, undefined);
    assert.equal(readPubSubMessage(cloudEvent(undefined)).data, undefined);
  });
});
