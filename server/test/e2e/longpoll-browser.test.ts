// The official client's real fallback path in headless Chromium: nginx (round-robin over 2 nodes
// and Redis) proxies /socket/longpoll but not /socket/websocket (404, as a proxy that strips
// upgrades would), so `new Socket('/socket', {longPollFallbackMs})` fails its WebSocket and falls
// back to LongPoll; two pages then exchange messages through either node.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../../testkit/src/browser.js';
import {
  signToken,
  startNginx,
  startRedis,
  startSwitchboard,
  type NginxProxy,
  type RedisServer,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { eventually } from '../support/phoenix.js';

let redis: RedisServer;
let nginx: NginxProxy;
const nodes: SwitchboardProcess[] = [];
let browser: Browser;
const pageErrors: string[] = [];

before(async () => {
  redis = await startRedis();
  const env = { BROKER: 'redis', REDIS_URL: redis.url };
  nodes.push(
    ...(await Promise.all([
      startSwitchboard({ ...env, NODE_ID: 'lpb-a' }),
      startSwitchboard({ ...env, NODE_ID: 'lpb-b' }),
    ])),
  );
  for (const n of nodes) {
    await eventually(
      `node ${n.port} ready`,
      async () => (await fetch(`${n.metricsUrl}/readyz`).catch(() => null))?.status === 200,
      30_000,
    );
  }
  nginx = await startNginx(
    nodes.map((n) => n.port),
    { paths: ['/vendor/', '/socket/longpoll'] },
  );
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
  await nginx?.stop();
  await redis?.stop();
});

/** A page on nginx's origin running the official client with a LongPoll fallback, joined to `topic`. */
async function clientPage(user: string, topic: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (err) => pageErrors.push(`${user}: ${err.message}`));
  await page.goto(`${nginx.httpUrl}/vendor/phoenix.mjs`);
  const token = await signToken({ sub: user, join: ['room:*'], publish: ['room:*'] });
  await page.evaluate(
    async ({ token, topic }) => {
      const { Socket } = (await import('/vendor/phoenix.mjs' as string)) as typeof import('phoenix');
      const socket = new Socket('/socket', { params: { token }, longPollFallbackMs: 300 });
      const got: string[] = [];
      Object.assign(window, { socket, got });
      socket.connect();
      const channel = socket.channel(topic, {});
      Object.assign(window, { channel });
      channel.on('new_msg', (p: { body: string }) => void got.push(p.body));
      await new Promise<void>((resolve, reject) => {
        channel
          .join()
          .receive('ok', () => resolve())
          .receive('error', (e: unknown) => reject(new Error(JSON.stringify(e))))
          .receive('timeout', () => reject(new Error(`join ${topic} timed out`)));
      });
    },
    { token, topic },
  );
  return page;
}

test('Chromium with the WebSocket refused falls back to LongPoll and chats across 2 nodes', async () => {
  const topic = 'room:lp-browser';
  const alice = await clientPage('alice', topic);
  const bob = await clientPage('bob', topic);
  for (const page of [alice, bob]) {
    const transport = await page.evaluate(() => {
      const s = (window as unknown as { socket: { transport: unknown; transportName(t: unknown): string } })
        .socket;
      return s.transportName(s.transport);
    });
    assert.equal(transport, 'LongPoll', 'the client fell back');
  }
  const N = 20;
  await alice.evaluate(async (n) => {
    const ch = (window as unknown as { channel: import('phoenix').Channel }).channel;
    for (let i = 0; i < n; i++) {
      // The push's own timeout (10 s) bounds the wait.
      await new Promise<void>((resolve, reject) =>
        ch
          .push('new_msg', { body: `m${i}` })
          .receive('ok', () => resolve())
          .receive('timeout', () => reject(new Error(`push m${i} timed out`))),
      );
    }
  }, N);
  const expected = Array.from({ length: N }, (_, i) => `m${i}`);
  for (const page of [alice, bob]) {
    await page.waitForFunction((n) => (window as unknown as { got: string[] }).got.length >= n, N, {
      timeout: 15_000,
    });
    assert.deepEqual(await page.evaluate(() => (window as unknown as { got: string[] }).got), expected);
  }
  assert.deepEqual(pageErrors, [], 'the pages threw');
});
