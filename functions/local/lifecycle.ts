import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';

// How the local programs (`npm start`, the demo, a test run) end: everything they started is
// stopped on the first request to stop, however it arrives. Their children (emulators,
// functions) run in process groups of their own, so a terminal's Ctrl-C reaches only the
// program itself, which must stop them.

export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';
const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Why the program is stopping: a signal, or the process that started it went away. */
export type StopRequest = { signal: StopSignal } | { parentGone: number };

/** The shell convention: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM); 1 when the parent went away. */
export function exitCodeFor(request: StopRequest): number {
  return 'signal' in request ? 128 + constants.signals[request.signal] : 1;
}

const cleanups = new Set<() => Promise<void>>();
const groups = new Set<number>();
let exitHooked = false;

/**
 * Remembers a stop function (and the child's process group) so that a stop request, or
 * stopAll(), stops what this process started. A plain `exit` (a crash, mocha finishing)
 * cannot wait for async work, so every tracked group is SIGKILLed synchronously there.
 * Unless the program handles stop requests itself (onStopRequest), the first one stops
 * everything and exits.
 */
export function registerForCleanup(stop: () => Promise<void>, child?: ChildProcess): void {
  cleanups.add(stop);
  if (child?.pid !== undefined) groups.add(child.pid);
  if (!handler) onStopRequest((request) => void stopAll().finally(() => process.exit(exitCodeFor(request))));
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const pid of groups) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

/** A group stopped on its own: nothing to kill at exit. */
export function forgetGroup(pid: number): void {
  groups.delete(pid);
}

/** Runs every registered stop function once, together. */
export async function stopAll(): Promise<void> {
  const pending = [...cleanups];
  cleanups.clear();
  await Promise.allSettled(pending.map((stop) => stop()));
}

let handler: ((request: StopRequest) => void) | undefined;
let requested = false;
let parentWatch: NodeJS.Timeout | undefined;

/**
 * Calls `onStop` once, on the first SIGINT, SIGTERM or SIGHUP; later signals are ignored
 * while it stops (a terminal's Ctrl-C reaches npm and this process together, and npm passes
 * its copy on: two SIGINTs arrive for one keypress). The listeners stay installed, so a
 * repeated signal can never fall through to Node's default and kill this process before
 * its children are stopped.
 *
 * With `watchParent`, the parent process going away counts as a request too: a shell or
 * npm between a process manager and this one may die of a signal without passing it on,
 * and this process would be left running with everything it started.
 */
export function onStopRequest(onStop: (request: StopRequest) => void, { watchParent = false, everyMs = 500 }: { watchParent?: boolean; everyMs?: number } = {}): void {
  const first = handler === undefined;
  handler = onStop;
  if (first) for (const signal of STOP_SIGNALS) process.on(signal, () => request({ signal }));
  if (watchParent && !parentWatch) {
    const parent = process.ppid;
    parentWatch = setInterval(() => {
      if (process.ppid !== parent) request({ parentGone: parent });
    }, everyMs);
    parentWatch.unref();
  }
}

function request(stop: StopRequest): void {
  if (requested) return;
  requested = true;
  if (parentWatch) clearInterval(parentWatch);
  handler?.(stop);
}
