import type { Request, Response } from '@google-cloud/functions-framework';

// Placeholder until the ingest handler lands.
export async function ingestWebhook(_req: Request, res: Response): Promise<void> {
  res.status(501).json({ error: 'not_implemented' });
}
