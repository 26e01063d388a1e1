// Two pods of WORKERS=2 over one Redis (BROKER=redis), beside a single-process pod: clients on all
// five processes get every publication once and in order, and each 2-worker pod holds the same
// Redis connections (CLIENT LIST) as the single-process pod, not one set per worker.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import {
  startRedis,
  startSwitchboard,
  testSecrets,
  type RedisServer,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { connect, eventually, within, type Channel, type Socket } from '../support/phoenix.js';
import { clientsOnDistinctWorkers, workerPidChannels, workerTestToken } from '../support/workers.js';

describe('WORKERS=2 pods over Redis', () => {
  let redis: RedisServer;
  let podA: SwitchboardProcess;
  let podB: SwitchboardProcess;
  let solo: SwitchboardProcess;
  const sockets: Socket[] = [];

  const start = (nodeId: string, workers?: string) =>
    startSwitchboard(
      {
        BROKER: 'redis',
        REDIS_URL: redis.url,
        NODE_ID: nodeId,
        CHANNELS_MODULE: workerPidChannels,
        LOG_LEVEL: 'warn',
        ...(workers ? { WORKERS: workers } : {}),
      },
      { readyTimeoutMs: 60_000 },
    );

  before(async () => {
    redis = await startRedis();
    [podA, podB, solo] = await Promise.all([start('pod-a', '2'), start('pod-b', '2'), start('solo')]);
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
    await Promise.all([podA?.kill(), podB?.kill(), solo?.kill()]);
    await redis?.stop();
  });

  test('clients on every worker of both pods and on a single process get each publication once, in order', async () => {
    const topic = `room:redis-fan-${Math.random().toString(36).slice(2)}`;
    const clients = [
      ...(await clientsOnDistinctWorkers(podA.socketUrl, 'ann', 2, sockets)).values(),
      ...(await clientsOnDistinctWorkers(podB.socketUrl, 'ben', 2, sockets)).values(),
      await connect(solo.socketUrl, { params: { token: await workerTestToken('sol') } }),
    ];
    sockets.push(clients[4]!);
    const received = clients.map(() => [] as number[]);
    const channels: Channel[] = [];
    for (const [i, socket] of clients.entries()) {
      const channel = socket.channel(topic, {});
      channel.on('msg', (p: { n: number }) => {
        received[i]!.push(p.n);
      });
      await within(
        10_000,
        'join',
        new Promise<void>((resolve, reject) => {
          channel
            .join()
            .receive('ok', () => resolve())
            .receive('error', reject);
        }),
      );
      channels.push(channel);
    }
    // 15 pushes from the second worker of pod A, then 15 API publications through pod B.
    for (let n = 1; n <= 15; n++) channels[1]!.push('msg', { n });
    await eventually('pushes delivered', () => received.every((r) => r.length >= 15), 20_000);
    for (let n = 16; n <= 30; n++) {
      const res = await fetch(`${podB.httpUrl}/api/broadcast`, {
        method: 'POST',
        headers: { authorization: `Bearer ${testSecrets.apiToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ topic, event: 'msg', payload: { n } }),
      });
      assert.equal(res.status, 202);
    }
    await eventually('all delivered', () => received.every((r) => r.length >= 30), 20_000);
    const all = Array.from({ length: 30 }, (_, i) => i + 1);
    for (const [i, r] of received.entries()) assert.deepEqual(r, all, `client ${i}`);
  });

  test('a 2-worker pod holds the Redis connections of one process (CLIENT LIST)', async () => {
    // Both pods do run two workers (each serving a client) while holding one process's connections.
    await clientsOnDistinctWorkers(podA.socketUrl, 'ann', 2, sockets);
    await clientsOnDistinctWorkers(podB.socketUrl, 'ben', 2, sockets);
    const admin = new Redis(redis.url);
    try {
      const list = (await admin.client('LIST')) as string;
      const names = list
        .split('\n')
        .map((l) => /\bname=(\S*)/.exec(l)?.[1] ?? '')
        .filter((n) => n !== '');
      const of = (id: string) =>
        names
          .filter((n) => n.includes(id))
          .map((n) => n.replace(id, 'ID'))
          .sort();
      const soloSet = of('solo');
      assert.ok(soloSet.length > 0, `the single process is connected: ${names.join(' ')}`);
      assert.deepEqual(of('pod-a'), soloSet);
      assert.deepEqual(of('pod-b'), soloSet);
      assert.ok(!names.some((n) => /pod-[ab]-w\d/.test(n)), `no worker connects: ${names.join(' ')}`);
    } finally {
      admin.disconnect();
    }
  });
});
