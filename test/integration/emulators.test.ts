import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startEmulator } from '../../functions/local/emulators.js';

describe('local emulators', function () {
  this.timeout(60_000);

  for (const kind of ['pubsub', 'firestore'] as const) {
    it(`starts the ${kind} emulator on a free port and stops its java child with it`, async function () {
      let emulator;
      try {
        emulator = await startEmulator(kind);
      } catch (error) {
        if ((error as Error).name === 'EmulatorMissingError') {
          console.warn(`\n  !!! SKIPPED: ${(error as Error).message}\n`);
          this.skip();
        }
        throw error;
      }
      const port = emulator.host.split(':')[1]!;
      assert.equal((await (await fetch(`http://${emulator.host}/`)).text()).trim(), 'Ok');
      await emulator.stop();
      await assert.rejects(fetch(`http://${emulator.host}/`), 'the port still answers after stop()');
      const holders = execFileSync('bash', ['-c', `ss -ltnp 'sport = :${port}' | tail -n +2 || true`], { encoding: 'utf8' });
      assert.equal(holders.trim(), '', `something still listens on ${port}: ${holders}`);
    });
  }
});
