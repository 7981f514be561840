import { Writable } from 'node:stream';
import { main } from '../../functions/cli/main.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Every wait the command asked for (connect's), in order: the clock is fake, so none is waited. */
  waits: number[];
}

/**
 * Runs `postload ARGS` in this process with the given environment, capturing its output
 * (not a terminal: no colours). No local stack is found unless the environment names a
 * state file (POSTLOAD_STATE_FILE): a developer's running `npm start` must not change a test.
 * Its clock only records the waits asked for; `onWait` runs at each, e.g. to change a stand-in
 * while the command waits.
 */
export async function runCli(args: string[], env: Record<string, string | undefined>, onWait?: (ms: number) => void | Promise<void>): Promise<CliRun> {
  let stdout = '';
  const waits: number[] = [];
  let stderr = '';
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk));
        done();
      },
    });
  const code = await main(args, {
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    env: { METADATA_SERVER_DETECTION: 'none', POSTLOAD_STATE_FILE: '/nonexistent/postload-test/local-stack.json', ...env },
    sleep: async (ms) => {
      waits.push(ms);
      await onWait?.(ms);
    },
  });
  return { code, stdout, stderr, waits };
}
