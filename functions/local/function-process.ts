import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stopGroup } from './emulators.js';
import { registerForCleanup } from './lifecycle.js';
import { pollUntil } from './poll.js';

// The framework's CLI (its `bin`), found beside its package entry point.
const FRAMEWORK_MAIN = join(dirname(createRequire(import.meta.url).resolve('@google-cloud/functions-framework')), 'main.js');
/** The compiled package, as Cloud Functions loads it (package.json `main`). */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Makes the framework listen on 127.0.0.1 only (built with the package, like the functions). */
const LOOPBACK_ONLY = join(PACKAGE_ROOT, 'dist/local/loopback-only.js');

export interface FunctionProcess {
  target: string;
  url: string;
  child: ChildProcess;
  /** Everything the process printed, for assertions and failure messages. */
  output(): string;
  /** Resolves once the output matches, as log lines arrive a moment after responses. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartFunctionOptions {
  target: 'ingestWebhook' | 'processSyncEvent' | 'runSweep';
  port: number;
  /** Another function folder than the built package (the bench's bare handler), as `--source`. */
  source?: string;
  /** Node options that NODE_OPTIONS refuses, such as --cpu-prof (the bench's profiles). */
  execArgv?: string[];
  env: Record<string, string | undefined>;
  /** Called with each line the function prints (its JSON logs). */
  onLine?: (line: string) => void;
  readyTimeoutMs?: number;
  /** How often to try the port until it listens (the bench's cold starts poll finely, so the figure is not rounded up to the step). */
  readyPollMs?: number;
}

/**
 * Serves one function target from the built package with the Functions Framework, in its
 * own process group, exactly as Cloud Functions runs it: FUNCTION_TARGET picks the target
 * and `main` in package.json the code (so `npm run build` must have run). It listens on
 * 127.0.0.1 only (loopback-only.ts).
 */
export async function startFunction({ target, port, source, execArgv = [], env, onLine, readyTimeoutMs = 30_000, readyPollMs = 100 }: StartFunctionOptions): Promise<FunctionProcess> {
  const child = spawn(process.execPath, [...execArgv, `--import=${pathToFileURL(LOOPBACK_ONLY).href}`, FRAMEWORK_MAIN, `--port=${port}`, ...(source ? [`--source=${source}`] : [])], {
    cwd: PACKAGE_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env, FUNCTION_TARGET: target, NODE_ENV: env.NODE_ENV ?? 'production' },
  });
  let output = '';
  let partial = '';
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    if (!onLine) return;
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) onLine(line);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const stop = () => stopGroup(child);
  registerForCleanup(stop, child);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${target} exited with code ${child.exitCode}:\n${output}`);
    try {
      // A TCP connection is enough: an HTTP probe would show up in the function's logs.
      await canConnect(port);
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`${target} did not listen on ${port} within ${readyTimeoutMs} ms:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, readyPollMs));
    }
  }
  const waitForOutput = async (pattern: RegExp, timeoutMs = 5000) => {
    await pollUntil(() => (pattern.test(output) ? true : undefined), {
      timeoutMs,
      everyMs: 50,
      failure: () => `${target} did not print ${pattern} within ${timeoutMs} ms:\n${output}`,
    });
  };
  return { target, url, child, output: () => output, waitForOutput, stop };
}

function canConnect(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.end();
      resolve();
    });
    socket.once('error', reject);
  });
}
