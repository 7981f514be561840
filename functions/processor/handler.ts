import type { CloudEvent } from '@google-cloud/functions-framework';

// Placeholder until the processor lands (issue 3).
export async function processSyncEvent(_event: CloudEvent<unknown>): Promise<void> {
  throw new Error('processSyncEvent is not implemented yet');
}
