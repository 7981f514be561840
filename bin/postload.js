#!/usr/bin/env node
// Launcher for `npx postload`: runs the compiled CLI from dist/. dist/ is build output
// (not in git), so a fresh clone needs `npm run build` once; this says so instead of
// failing with a module-not-found trace.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('postload: the CLI is not built yet (dist/cli/main.js is missing)\n  fix: run `npm run build` in the postload folder, then try again\n');
  process.exit(3);
}
// The functions' code the CLI calls logs JSON lines for Cloud Logging to stdout; in a CLI they
// would interleave with its own output (and break --json). The CLI reports what matters
// itself (check: a short webhook secret); LOG_LEVEL=info shows the lines again.
process.env.LOG_LEVEL ??= 'silent';
// `postload events | head` closes the pipe early: that is the reader being done, not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
const { main } = await import(entry.href);
if (process.env.PUBSUB_EMULATOR_HOST || process.env.FIRESTORE_EMULATOR_HOST) {
  // No metadata server on a laptop: without this the Google clients probe for one.
  process.env.METADATA_SERVER_DETECTION ??= 'none';
}
process.exitCode = await main(process.argv.slice(2));
