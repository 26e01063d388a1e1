// Headless Chromium for tests: Debian's chromium (scripts/setup.sh installs it) driven by
// playwright-core, which downloads no browser of its own. Imported by path, not from index.ts, so
// tests without a browser do not load playwright.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where Debian's chromium package puts the browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Starts headless Chromium without sandbox, GPU, QUIC or background traffic; throws naming the fix when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: run scripts/setup.sh (installs the Debian chromium package)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
