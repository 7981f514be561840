import { EmulatorMissingError, startEmulator, type EmulatorKind, type RunningEmulator } from '../../functions/local/emulators.js';
import { stopAll } from '../../functions/local/lifecycle.js';

// Integration tests share one Pub/Sub and one Firestore emulator per run, started lazily
// by the first test that asks, and stopped when mocha is done.
const running = new Map<EmulatorKind, Promise<RunningEmulator | EmulatorMissingError>>();

export const PROJECT_ID = 'postload-local';

/**
 * The emulator's host:port, starting it on first use. When it is not installed the
 * calling test (or suite) is skipped with a loud warning, never passed silently.
 */
export async function emulator(kind: EmulatorKind, context: Mocha.Context): Promise<string> {
  let pending = running.get(kind);
  if (!pending) {
    pending = startEmulator(kind).catch((error: unknown) => {
      if (error instanceof EmulatorMissingError) return error;
      throw error;
    });
    running.set(kind, pending);
  }
  const result = await pending;
  if (result instanceof EmulatorMissingError) {
    console.warn(`\n  !!! SKIPPED: ${result.message}\n`);
    context.skip();
  }
  return (result as RunningEmulator).host;
}

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(30_000);
    running.clear();
    await stopAll();
  },
};
