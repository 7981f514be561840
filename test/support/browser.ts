import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

// Headless Chromium from Debian's `chromium` package, driven by puppeteer-core (which never
// downloads a browser). .ci/run installs the package when it is missing; on a developer's
// machine without it the browser suites are skipped with a loud warning.

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where screenshots go (gitignored): test-artifacts/<suite>/. */
export function artifactsDir(suite: string): string {
  const dir = fileURLToPath(new URL(`../../test-artifacts/${suite}/`, import.meta.url));
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function launchBrowser(context: Mocha.Context): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium package`);
    console.warn(`\n  !!! SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)\n`);
    context.skip();
  }
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // As root in CI there is no sandbox; the rest keep Chromium off the network it cannot reach.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    protocolTimeout: 120_000,
  });
}

/** axe-core's own script, injected into a page (axe-core ships it; nothing is fetched). */
export function axeSource(): string {
  const require = createRequire(import.meta.url);
  return readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[]; html: string }>;
}

/** Runs axe on the page (JavaScript must be on and the CSP bypassed for the injected script) and returns its violations. */
export async function axeViolations(page: Page, source: string): Promise<AxeViolation[]> {
  await page.evaluate(source);
  return page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (ctx: unknown, options: unknown) => Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, html: n.html.slice(0, 200) })) }));
  });
}
