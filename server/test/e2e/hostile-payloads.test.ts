// Issue 12 item 2: the depth limit holds on every path, and history serves the published text
// verbatim. A canonical-form frame nested 20,000 deep is refused (1007) and never stored, so later
// recovering joins and the history API keep working; `{"n":1e400}` reaches live subscribers,
// recovering joins and GET /api/topics/:topic/messages as the same bytes. Memory history, the Redis
// hot cache and PostgreSQL (hot cache off) each.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  signToken,
  startPostgres,
  startRedis,
  startSwitchboard,
  testSecrets,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { eventually } from '../support/phoenix.js';
import { openRaw, type RawClient } from '../support/raw-client.js';

const deployments: { name: string; start(): Promise<{ node: SwitchboardProcess; stop(): Promise<void> }> }[] =
  [
    {
      name: 'memory history',
      async start() {
        const node = await startSwitchboard({ LOG_LEVEL: 'warn' }, { readyTimeoutMs: 60_000 });
        return { node, stop: async () => void (await node.stop()) };
      },
    },
    {
      name: 'Redis hot cache',
      async start() {
        const redis = await startRedis();
        const node = await startSwitchboard(
          { LOG_LEVEL: 'warn', BROKER: 'redis', REDIS_URL: redis.url },
          { readyTimeoutMs: 60_000 },
        );
        return { node, stop: async () => (await node.stop(), await redis.stop()) };
      },
    },
    {
      name: 'PostgreSQL (hot cache off)',
      async start() {
        const [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
        const node = await startSwitchboard(
          {
            LOG_LEVEL: 'warn',
            BROKER: 'redis',
            REDIS_URL: redis.url,
            DATABASE_URL: pg.url,
            HISTORY_CACHE_SIZE: '0',
          },
          { readyTimeoutMs: 60_000 },
        );
        return {
          node,
          stop: async () => {
            await node.stop();
            await Promise.all([redis.stop(), pg.stop()]);
          },
        };
      },
    },
  ];

/** A raw client that also keeps every text frame as received (JSON.parse would lose `1e400`). */
async function rawClient(node: SwitchboardProcess, sub: string): Promise<RawClient & { texts: string[] }> {
  const token = await signToken({ sub, join: ['room:*'], publish: ['room:*'] });
  const c = await openRaw(node.socketUrl, token);
  const texts: string[] = [];
  c.ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) texts.push(data.toString('utf8'));
  });
  return Object.assign(c, { texts });
}

const isReply = (ref: string) => (f: unknown[]) => f[1] === ref && f[3] === 'phx_reply';

for (const deployment of deployments) {
  describe(`hostile payloads: ${deployment.name}`, () => {
    let d: { node: SwitchboardProcess; stop(): Promise<void> };
    before(async () => {
      d = await deployment.start();
    });
    after(async () => d?.stop());

    test('a 20,000-deep canonical payload is refused with 1007 and 1e400 is served verbatim everywhere', async () => {
      const { node } = d;
      const topic = `room:deep-${Math.random().toString(36).slice(2)}`;
      const live = await rawClient(node, 'listener');
      live.send(['1', '1', topic, 'phx_join', { recover: true }]);
      const joined = (await live.waitFor(isReply('1'), 'join reply'))[4] as {
        response: { epoch: string; offset: number };
      };
      const { epoch, offset: start } = joined.response;

      // Canonical JSON.stringify spelling: the text the official client sends.
      const deep = '['.repeat(20_000) + ']'.repeat(20_000);
      const attacker = await rawClient(node, 'attacker');
      attacker.send(['1', '1', topic, 'phx_join', {}]);
      await attacker.waitFor(isReply('1'), 'attacker join');
      attacker.ws.send(`["1","2",${JSON.stringify(topic)},"msg",${deep}]`);
      assert.equal((await attacker.closed).code, 1007);

      const publisher = await rawClient(node, 'publisher');
      publisher.send(['1', '1', topic, 'phx_join', {}]);
      await publisher.waitFor(isReply('1'), 'publisher join');
      publisher.ws.send(`["1","2",${JSON.stringify(topic)},"msg",{"n":1e400,"s":"\\ud800"}]`);
      await publisher.waitFor(isReply('2'), 'publish reply');
      const verbatim = '{"n":1e400,"s":"\\ud800"}';
      await eventually('live delivery', () => live.texts.some((t) => t.includes(`"msg",${verbatim}]`)));

      // A recovering join gets the same bytes (no 1011, no re-encoding).
      const rejoin = await rawClient(node, 'rejoiner');
      rejoin.send(['1', '1', topic, 'phx_join', { recover: { epoch, offset: start } }]);
      const reply = (await rejoin.waitFor(isReply('1'), 'recovering join reply', 15_000))[4] as {
        status: string;
        response: { recovered: boolean; offset: number };
      };
      assert.equal(reply.status, 'ok');
      assert.equal(reply.response.recovered, true, JSON.stringify(reply));
      assert.equal(reply.response.offset, start + 1, 'only the valid publication was stored');
      await eventually('recovered frame', () => rejoin.texts.some((t) => t.endsWith(`"msg",${verbatim}]`)));

      const res = await fetch(`${node.httpUrl}/api/topics/${encodeURIComponent(topic)}/messages`, {
        headers: { authorization: `Bearer ${testSecrets.apiToken}` },
      });
      const body = await res.text();
      assert.equal(res.status, 200, body);
      assert.ok(body.includes(`"payload":${verbatim}`), body);
      assert.equal(JSON.parse(body).messages.length, 1);
      for (const c of [live, publisher, rejoin]) c.ws.close();
      assert.equal(node.proc.child.exitCode, null);
    });
  });
}
