// Headless Chromium for the runtime tests: the system browser (/usr/bin/chromium, or
// $CHROMIUM_PATH) driven by playwright-core, with a fresh profile directory per launch and the
// static server of scripts/serve.mjs. Every wait is bounded.
import { chromium } from 'playwright-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../scripts/serve.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/**
 * Starts the server and the browser; fn({ context, server, newPage }) runs with them and both are
 * torn down afterwards. newPage() collects console errors and page errors into page.errors.
 */
export async function withBrowser(fn, { timeoutMs = 60000 } = {}) {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
  const profile = await mkdtemp(join(tmpdir(), 'nystrom-chromium-'));
  const server = await startServer();
  let context;
  const timer = setTimeout(() => { console.error(`browser test timed out after ${timeoutMs} ms`); process.exit(2); }, timeoutMs);
  try {
    // launchPersistentContext is playwright's way to pass a --user-data-dir: here a fresh one.
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 30000 });
    const newPage = async () => {
      const page = await context.newPage();
      page.setDefaultTimeout(30000);
      page.errors = [];
      page.on('console', (m) => { if (m.type() === 'error') page.errors.push(`console: ${m.text()}`); });
      page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
      page.on('requestfailed', (r) => page.errors.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
      return page;
    };
    return await fn({ context, server, newPage });
  } finally {
    clearTimeout(timer);
    await context?.close().catch(() => {});
    await server.close();
    await rm(profile, { recursive: true, force: true });
  }
}
