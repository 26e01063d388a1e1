// The demo page in headless Chromium (playwright-core + the system chromium): two pages join the
// same room, one sends a message the other sees, and each sees the other's presence.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../../testkit/src/browser.js';
import { startSwitchboard, type SwitchboardProcess } from '../../../testkit/src/index.js';

let sb: SwitchboardProcess;
let browser: Browser;
/** Uncaught errors of the pages, checked at the end of the test: a throw inside the listener would
 * not fail the test (playwright's emitter swallows or crashes on it, outside the test). */
const pageErrors: string[] = [];

before(async () => {
  // As `npm start` does with no environment: JWT_SECRET generated, so /demo/token exists.
  sb = await startSwitchboard({ JWT_SECRET: '', NODE_ENV: 'development' });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await sb?.stop();
});

async function joinAs(name: string, room: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (err) => pageErrors.push(`${name}: ${err.message}`));
  await page.goto(sb.httpUrl);
  await page.fill('#name', name);
  await page.fill('#room', room);
  await page.click('#join');
  await page.waitForSelector('#send:not([disabled])', { timeout: 15_000 });
  return page;
}

test('two browsers chat through the demo page and see each other present', async () => {
  const alice = await joinAs('alice', 'browsers');
  const bob = await joinAs('bob', 'browsers');

  for (const page of [alice, bob]) {
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('#presence li')]
          .map((li) => (li as HTMLElement).dataset.user)
          .sort()
          .join() === 'alice,bob',
      null,
      { timeout: 15_000 },
    );
  }

  await alice.fill('#message', 'hello from alice');
  await alice.click('#send');
  await bob.waitForFunction(
    () =>
      [...document.querySelectorAll('#messages li')].some((li) => li.textContent === 'alicehello from alice'),
    null,
    { timeout: 15_000 },
  );
  assert.match(
    (await alice.textContent('#messages')) ?? '',
    /hello from alice/,
    'the sender sees its own message',
  );

  await bob.close();
  await alice.waitForFunction(
    () =>
      [...document.querySelectorAll('#presence li')].map((li) => (li as HTMLElement).dataset.user).join() ===
      'alice',
    null,
    { timeout: 15_000 },
  );
  assert.deepEqual(pageErrors, [], 'the demo page threw');
});
