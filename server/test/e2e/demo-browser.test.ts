// The demo page in headless Chromium (playwright-core + the system chromium): pages join a room,
// chat, see each other present, see which transport carries them, and a dropped connection comes
// back with the gap filled by recovery. A screenshot of the recovered page is written for docs/.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../../testkit/src/browser.js';
import { startSwitchboard, type SwitchboardProcess } from '../../../testkit/src/index.js';

let sb: SwitchboardProcess;
let browser: Browser;
/** Uncaught errors of the pages, checked at the end of each test: a throw inside the listener would
 * not fail the test (playwright's emitter swallows or crashes on it, outside the test). */
const pageErrors: string[] = [];
const WAIT = { timeout: 15_000 };
/** docs/images/demo.png is rewritten by `UPDATE_SCREENSHOTS=1`; otherwise the shot goes to a temp path. */
const SCREENSHOT = process.env.UPDATE_SCREENSHOTS
  ? fileURLToPath(new URL('../../../docs/images/demo.png', import.meta.url))
  : join(process.env.TMPDIR ?? '/tmp', `switchboard-demo-${process.pid}.png`);

before(async () => {
  // As `npm start` does with no environment: JWT_SECRET generated, so /demo/token exists.
  sb = await startSwitchboard({ JWT_SECRET: '', NODE_ENV: 'development' });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await sb?.stop();
});

async function openPage(name: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 640 } });
  page.on('pageerror', (err) => pageErrors.push(`${name}: ${err.message}`));
  return page;
}

async function joinAs(name: string, room: string, transport = 'auto', page?: Page): Promise<Page> {
  page ??= await openPage(name);
  await page.goto(sb.httpUrl);
  await page.fill('#name', name);
  await page.fill('#room', room);
  await page.selectOption('#transport-choice', transport);
  await page.click('#join');
  await page.waitForSelector('#send:not([disabled])', WAIT);
  return page;
}

async function send(page: Page, body: string): Promise<void> {
  await page.fill('#message', body);
  await page.click('#send');
  await waitForMessage(page, body);
}

async function waitForMessage(page: Page, body: string): Promise<void> {
  await page.waitForFunction(
    (b) =>
      [...document.querySelectorAll('#messages li:not(.system)')].some((li) => li.textContent?.endsWith(b)),
    body,
    WAIT,
  );
}

async function presentUsers(page: Page, users: string): Promise<void> {
  await page.waitForFunction(
    (u) =>
      [...document.querySelectorAll('#presence li')]
        .map((li) => (li as HTMLElement).dataset.user)
        .sort()
        .join() === u,
    users,
    WAIT,
  );
}

test('two browsers chat through the demo page and see each other present', async () => {
  const alice = await joinAs('alice', 'browsers');
  const bob = await joinAs('bob', 'browsers');
  for (const page of [alice, bob]) await presentUsers(page, 'alice,bob');

  await send(alice, 'hello from alice');
  await waitForMessage(bob, 'hello from alice');
  assert.equal(await alice.textContent('#transport'), 'WebSocket');
  // The header is one line: the chat gets the rest of the window.
  const header = await alice.locator('header').boundingBox();
  assert.ok(header && header.height < 80, `header ${header?.height} px high`);

  await bob.close();
  await presentUsers(alice, 'alice');
  await alice.close();
  assert.deepEqual(pageErrors, [], 'the demo page threw');
});

test('drop connection: the messages sent meanwhile come back through recovery, counted', async () => {
  const alice = await joinAs('alice', 'recovery');
  const bob = await joinAs('bob', 'recovery');
  await presentUsers(alice, 'alice,bob');
  await send(bob, 'before the drop');
  await waitForMessage(alice, 'before the drop');

  await alice.click('#drop');
  await alice.waitForFunction(
    () => document.querySelector('#transport')?.textContent === 'disconnected',
    null,
    WAIT,
  );
  const missed = ['missed one', 'missed two', 'missed three'];
  for (const body of missed) await send(bob, body);

  // The page reconnects by itself after a few seconds and rejoins from its last position.
  await alice.waitForFunction(
    () => (document.querySelector('#recovered-count') as HTMLElement | null)?.dataset.count === '3',
    null,
    WAIT,
  );
  assert.equal(await alice.getAttribute('#recovered', 'data-recovered'), 'true');
  assert.equal(await alice.textContent('#recovered-count'), '3 of 3 missed');
  const recovered = await alice.$$eval('#messages li.recovered', (lis) => lis.map((li) => li.textContent));
  assert.deepEqual(
    recovered,
    missed.map((b) => `bob${b}`),
    'the missed messages, once each and in order, marked recovered',
  );
  assert.equal(await alice.textContent('#transport'), 'WebSocket');

  // Live again: a new message is delivered and not marked recovered.
  await send(bob, 'after the drop');
  await waitForMessage(alice, 'after the drop');
  assert.equal(await alice.locator('#messages li.recovered').count(), 3);

  mkdirSync(dirname(SCREENSHOT), { recursive: true });
  await alice.screenshot({ path: SCREENSHOT });
  await alice.close();
  await bob.close();
  assert.deepEqual(pageErrors, [], 'the demo page threw');
});

test('LongPoll, chosen on the page: it says so, and chats with a WebSocket page', async () => {
  const carol = await joinAs('carol', 'transports', 'longpoll');
  const dave = await joinAs('dave', 'transports');
  assert.equal(await carol.textContent('#transport'), 'LongPoll');
  assert.equal(await dave.textContent('#transport'), 'WebSocket');
  await presentUsers(carol, 'carol,dave');
  await send(carol, 'over long polling');
  await waitForMessage(dave, 'over long polling');
  await send(dave, 'over a websocket');
  await waitForMessage(carol, 'over a websocket');
  await carol.close();
  await dave.close();
  assert.deepEqual(pageErrors, [], 'the demo page threw');
});

test('WebSocket blocked: the official client falls back to LongPoll by itself', async () => {
  const erin = await openPage('erin');
  // As a proxy that refuses the upgrade: every WebSocket to /socket closes at once.
  await erin.routeWebSocket(/\/socket\/websocket/, (ws) => ws.close({ code: 1008, reason: 'blocked' }));
  await joinAs('erin', 'fallback', 'auto', erin);
  assert.equal(await erin.textContent('#transport'), 'LongPoll');
  const frank = await joinAs('frank', 'fallback');
  await presentUsers(erin, 'erin,frank');
  await send(frank, 'reaches the fallback');
  await waitForMessage(erin, 'reaches the fallback');
  await erin.close();
  await frank.close();
  assert.deepEqual(pageErrors, [], 'the demo page threw');
});
