import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { forgetGroup, registerForCleanup } from './lifecycle.js';

export type EmulatorKind = 'pubsub' | 'firestore';

/** The emulator's launcher is not on this machine (no Cloud SDK, or the component is missing). */
export class EmulatorMissingError extends Error {
  override readonly name = 'EmulatorMissingError';
  constructor(readonly kind: EmulatorKind, path: string) {
    super(`the ${kind} emulator is not installed (looked for ${path}); install the Google Cloud SDK component`);
  }
}

export interface RunningEmulator {
  kind: EmulatorKind;
  /** host:port, the value for PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST. */
  host: string;
  stop(): Promise<void>;
}

let sdkRoot: string | undefined;

/** The Cloud SDK root: CLOUDSDK_ROOT_DIR, else asked of gcloud once per process. */
export function cloudSdkRoot(): string {
  sdkRoot ??=
    process.env.CLOUDSDK_ROOT_DIR ??
    execFileSync('gcloud', ['info', '--format=value(installation.sdk_root)'], { encoding: 'utf8' }).trim();
  return sdkRoot;
}

function launcher(kind: EmulatorKind): { command: string; args: (port: number) => string[] } {
  let root: string;
  try {
    root = cloudSdkRoot();
  } catch {
    throw new EmulatorMissingError(kind, 'gcloud on PATH');
  }
  const command =
    kind === 'pubsub'
      ? join(root, 'platform/pubsub-emulator/bin/cloud-pubsub-emulator')
      : join(root, 'platform/cloud-firestore-emulator/cloud_firestore_emulator');
  if (!existsSync(command)) throw new EmulatorMissingError(kind, command);
  return {
    command,
    args: (port) =>
      kind === 'pubsub'
        ? [`--host=127.0.0.1`, `--port=${port}`]
        : ['start', '--host=127.0.0.1', `--port=${port}`],
  };
}

/** A port the OS says is free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts an emulator in its own process group and waits until it answers `Ok`.
 * The launchers start a `java` child, so stopping signals the whole group: killing
 * only the launcher would leave java holding the port.
 */
export async function startEmulator(
  kind: EmulatorKind,
  { port, readyTimeoutMs = 60_000 }: { port?: number; readyTimeoutMs?: number } = {},
): Promise<RunningEmulator> {
  const { command, args } = launcher(kind);
  const chosen = port ?? (await freePort());
  const child = spawn(command, args(chosen), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const stop = () => stopGroup(child);
  registerForCleanup(stop, child);
  const host = `127.0.0.1:${chosen}`;
  try {
    await waitForOk(`http://${host}/`, child, readyTimeoutMs);
  } catch (error) {
    await stop();
    throw new Error(`${kind} emulator did not start: ${(error as Error).message}\n${output}`);
  }
  return { kind, host, stop };
}

async function waitForOk(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (response.ok && (await response.text()).trim() === 'Ok') return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no "Ok" from ${url} within ${timeoutMs} ms`);
}

/** Signals a detached child's whole process group and waits for it to exit. */
export async function stopGroup(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.pid === undefined) return;
  const exited =
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, name);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  // java may outlive the launcher that was our direct child: make sure the group is gone.
  signal('SIGKILL');
  forgetGroup(child.pid);
}
