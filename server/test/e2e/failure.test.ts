// Failure behaviour with the real processes killed: Redis (SIGKILL, then restarted) and PostgreSQL
// (immediate shutdown, then restarted) under two real server processes and the official phoenix
// client. The server stays up, local delivery continues, cross-node delivery and subscriptions come
// back by themselves, recovery fills what history holds and says recovered: false where it cannot.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Socket, type Channel } from 'phoenix';
import pg from 'pg';
import {
  signToken,
  startPostgres,
  startRedis,
  startSwitchboard,
  testSecrets,
  type PostgresServer,
  type RedisServer,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { collect, eventually, join, phoenixSocket } from '../support/phoenix.js';
import { recoveryClient, type RecoveryClient } from '../support/recovery-client.js';

const topicAuth = { authorization: `Bearer ${testSecrets.apiToken}` };

async function broadcast(node: SwitchboardProcess, topic: string, n: number): Promise<void> {
  const res = await fetch(`${node.httpUrl}/api/broadcast`, {
    method: 'POST',
    headers: topicAuth,
    body: JSON.stringify({ topic, event: 'msg', payload: { n } }),
  });
  assert.equal(res.status, 202, await res.text());
}

async function publishRange(node: SwitchboardProcess, topic: string, from: number, to: number) {
  for (let n = from; n <= to; n++) await broadcast(node, topic, n);
}

async function status(url: string): Promise<number> {
  return fetch(url).then(
    (r) => r.status,
    () => 0,
  );
}

/** The value of one sample in /metrics (0 when absent). */
async function metric(node: SwitchboardProcess, sample: string): Promise<number> {
  const text = await (await fetch(`${node.metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

const numbers = (c: RecoveryClient) => c.delivered.map((m) => m.payload.n);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function plainClient(url: string, topic: string): Promise<{ socket: Socket; seen: { n: number }[] }> {
  const token = await signToken({ sub: 'plain', join: ['room:*'] });
  const socket = phoenixSocket(url, { params: { token } });
  socket.connect();
  const ch: Channel = socket.channel(topic, {});
  const seen = collect<{ n: number }>(ch, 'msg');
  assert.equal((await join(ch, 20_000)).status, 'ok');
  return { socket, seen };
}

describe('Redis stops and restarts (two nodes, Redis with AOF, PostgreSQL)', () => {
  let redis: RedisServer;
  let postgres: PostgresServer;
  let a: SwitchboardProcess;
  let b: SwitchboardProcess;
  const topic = 'room:redis-outage';
  before(async () => {
    // appendfsync always: the sequence survives the crash, so the epoch is kept and recovery can fill.
    [redis, postgres] = await Promise.all([
      startRedis(['--appendonly', 'yes', '--appendfsync', 'always']),
      startPostgres(),
    ]);
    const env = { BROKER: 'redis', REDIS_URL: redis.url, DATABASE_URL: postgres.url, LOG_LEVEL: 'info' };
    [a, b] = await Promise.all([
      startSwitchboard({ ...env, NODE_ID: 'fail-a' }, { readyTimeoutMs: 60_000 }),
      startSwitchboard({ ...env, NODE_ID: 'fail-b' }, { readyTimeoutMs: 60_000 }),
    ]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all([redis?.stop(), postgres?.stop()]);
  });

  test('server stays up, local delivery continues, cross-node delivery and subscriptions come back, recovery fills the gap', async () => {
    const token = await signToken({ sub: 'reader', join: ['room:*'], publish: ['room:*'] });
    const ra = recoveryClient(a.socketUrl, token, topic); // on the publishing node
    const rb = recoveryClient(b.socketUrl, token, topic); // on the other node, stays connected
    const rc = recoveryClient(b.socketUrl, token, topic); // on the other node, away during the outage
    const plain = await plainClient(b.socketUrl, topic);
    try {
      await Promise.all([ra.join(), rb.join(), rc.join()]);
      await publishRange(a, topic, 1, 5);
      await eventually(
        '1..5 everywhere',
        () => [ra, rb, rc].every((c) => c.delivered.length === 5) && plain.seen.length === 5,
      );
      rc.socket.disconnect();

      await redis.kill();
      await eventually(
        'both nodes not ready',
        async () =>
          (await status(`${a.metricsUrl}/readyz`)) === 503 &&
          (await status(`${b.metricsUrl}/readyz`)) === 503,
      );
      assert.equal(await status(`${a.metricsUrl}/healthz`), 200);
      assert.equal(await status(`${b.metricsUrl}/healthz`), 200);
      const publishErrorsBefore = await metric(a, 'switchboard_broker_errors_total{op="publish"}');
      await publishRange(a, topic, 6, 8);
      await eventually('local delivery continues on node A', () => numbers(ra).includes(8));
      assert.deepEqual(numbers(ra), range(1, 8));
      assert.deepEqual(
        ra.raw.slice(5).map((p) => p),
        [null, null, null],
        'published while the sequencer is away: delivered without a position',
      );
      assert.ok(
        (await metric(a, 'switchboard_broker_errors_total{op="publish"}')) >= publishErrorsBefore + 3,
      );

      await redis.restart();
      await eventually(
        'both nodes ready again',
        async () =>
          (await status(`${a.metricsUrl}/readyz`)) === 200 &&
          (await status(`${b.metricsUrl}/readyz`)) === 200,
        30_000,
      );
      // Channels with recovery on both nodes are told to rejoin (phx_error) and recover.
      await eventually('rb rejoined after the broker came back', () => rb.joins.length >= 2, 30_000);
      assert.equal(rb.joins.at(-1)!.recovered, true, JSON.stringify(rb.joins.at(-1)));

      // Cross-node delivery resumes, both ways, on restored subscriptions.
      await eventually(
        'cross-node delivery resumes',
        async () => {
          await broadcast(a, topic, 1000 + Math.floor(Math.random() * 1000));
          return plain.seen.some((m) => m.n >= 1000);
        },
        30_000,
      );
      const before = numbers(rb).length;
      await publishRange(a, topic, 9, 12);
      await publishRange(b, topic, 13, 14);
      await eventually('rb gets A and B publications live', () => numbers(rb).includes(14), 20_000);
      await eventually('ra gets B publications', () => numbers(ra).includes(14), 20_000);
      assert.ok(numbers(rb).length > before);

      // rc was away for the whole outage: recovery gives it exactly what history holds, in order.
      rc.socket.connect();
      await eventually('rc rejoined', () => rc.joins.length >= 2, 20_000);
      const rejoin = rc.joins.at(-1)!;
      assert.equal(rejoin.recovered, true, JSON.stringify(rejoin));
      await publishRange(a, topic, 15, 15);
      await eventually('rc gets the next live message', () => numbers(rc).includes(15), 20_000);
      const rcSequenced = rc.delivered.filter((m) => m.position !== null).map((m) => m.position!.offset);
      assert.deepEqual(
        rcSequenced,
        range(1, rcSequenced.length),
        'every sequenced message once, in offset order',
      );
      const rcNumbers = numbers(rc).filter((n) => n !== undefined && n < 1000);
      assert.deepEqual(
        rcNumbers,
        [...range(1, 5), ...range(9, 15)],
        '6..8 were never sequenced (Redis down)',
      );
      assert.equal(a.proc.child.exitCode, null);
      assert.equal(b.proc.child.exitCode, null);
      assert.match(a.output(), /broker back: channels with recovery told to rejoin/);
    } catch (err) {
      // What the nodes said about Redis and rejoins, so a failure in CI says where it stopped.
      const said = (n: SwitchboardProcess) =>
        n
          .output()
          .split('\n')
          .filter((l) => /redis|broker|rejoin|recover|sequencer/i.test(l))
          .slice(-15)
          .join('\n');
      const joins = (c: RecoveryClient) => JSON.stringify(c.joins.map((j) => [j.recovered, j.reason]));
      throw Object.assign(err as Error, {
        message: `${(err as Error).message}\njoins ra ${joins(ra)} rb ${joins(rb)} rc ${joins(rc)}\nnode a:\n${said(a)}\nnode b:\n${said(b)}`,
      });
    } finally {
      for (const s of [ra.socket, rb.socket, rc.socket, plain.socket]) s.disconnect();
    }
  });
});

describe('Redis restarts without its data', () => {
  let redis: RedisServer;
  let node: SwitchboardProcess;
  before(async () => {
    redis = await startRedis();
    node = await startSwitchboard(
      { BROKER: 'redis', REDIS_URL: redis.url, NODE_ID: 'fail-epoch' },
      { readyTimeoutMs: 60_000 },
    );
  });
  after(async () => {
    await node?.stop();
    await redis?.stop();
  });

  test('the epoch changed: the rejoin is told recovered: false, and positions restart in the new epoch', async () => {
    const topic = 'room:redis-amnesia';
    const token = await signToken({ sub: 'reader', join: ['room:*'] });
    const client = recoveryClient(node.socketUrl, token, topic);
    try {
      await client.join();
      await publishRange(node, topic, 1, 3);
      await eventually('1..3', () => client.delivered.length === 3);
      const old = client.position()!;
      await redis.kill();
      await eventually('not ready', async () => (await status(`${node.metricsUrl}/readyz`)) === 503);
      await redis.restart();
      await eventually('the rejoin after Redis came back', () => client.joins.length >= 2, 30_000);
      const rejoin = client.joins.at(-1)!;
      assert.equal(rejoin.recovered, false);
      assert.equal(rejoin.reason, 'epoch_changed');
      assert.notEqual(rejoin.epoch, old.epoch);
      assert.equal(client.resets.length, 1, 'the application is told to reload');
      await publishRange(node, topic, 4, 4);
      await eventually('the next message', () => client.delivered.length === 4, 20_000);
      assert.deepEqual(client.position(), { epoch: rejoin.epoch, offset: 1 });
    } finally {
      client.socket.disconnect();
    }
  });
});

describe('PostgreSQL stops and restarts', () => {
  let postgres: PostgresServer;
  let node: SwitchboardProcess;
  const topic = 'room:pg-outage';
  const QUEUE_MAX = 50;
  before(async () => {
    postgres = await startPostgres();
    node = await startSwitchboard(
      {
        DATABASE_URL: postgres.url,
        HISTORY_QUEUE_MAX: String(QUEUE_MAX),
        HISTORY_BATCH_SIZE: '10',
        HISTORY_FLUSH_MS: '20',
        HISTORY_CACHE_SIZE: '5', // the memory ring is short: recovery needs PostgreSQL
        LOG_LEVEL: 'info',
      },
      { readyTimeoutMs: 60_000 },
    );
  });
  after(async () => {
    await node?.stop();
    await postgres?.stop();
  });

  async function storedOffsets(): Promise<number[]> {
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const r = await client.query<{ offset: string }>(
        'SELECT "offset" FROM history WHERE topic = $1 ORDER BY "offset"',
        [topic],
      );
      return r.rows.map((row) => Number(row.offset));
    } finally {
      await client.end();
    }
  }

  test('delivery continues, the queue stays bounded and drops are counted, recovery says false for the hole, writes resume', async () => {
    const token = await signToken({ sub: 'reader', join: ['room:*'] });
    const away = recoveryClient(node.socketUrl, token, topic);
    const plain = await plainClient(node.socketUrl, topic);
    try {
      await away.join();
      await publishRange(node, topic, 1, 10);
      await eventually('1..10 delivered', () => away.delivered.length === 10 && plain.seen.length === 10);
      await eventually('1..10 in PostgreSQL', async () => (await storedOffsets()).length === 10);
      away.socket.disconnect();
      const rssBefore = await metric(node, 'process_resident_memory_bytes');

      await postgres.kill();
      const outage = 600; // > HISTORY_QUEUE_MAX, < HISTORY_RECOVERY_MAX (so the answer is about the hole)
      let maxDepth = 0;
      for (let n = 11; n <= 10 + outage; n++) {
        await broadcast(node, topic, n);
        if (n % 100 === 0)
          maxDepth = Math.max(maxDepth, await metric(node, 'switchboard_history_queue_depth'));
      }
      await eventually('delivery continued', () => plain.seen.length === 10 + outage, 30_000);
      assert.deepEqual(
        plain.seen.map((m) => m.n),
        range(1, 10 + outage),
      );
      assert.ok(maxDepth <= QUEUE_MAX, `queue depth ${maxDepth} <= HISTORY_QUEUE_MAX ${QUEUE_MAX}`);
      const dropped = await metric(node, 'switchboard_history_dropped_total');
      assert.ok(dropped >= outage - QUEUE_MAX - 20, `dropped ${dropped}`);
      assert.match(node.output(), /history write queue full: publications dropped from history/);
      const rssAfter = await metric(node, 'process_resident_memory_bytes');
      assert.ok(
        rssAfter - rssBefore < 100 * 1024 * 1024,
        `RSS grew ${Math.round((rssAfter - rssBefore) / 1e6)} MB`,
      );

      // While PostgreSQL is down: the range needs it, so recovery cannot be complete.
      away.socket.connect();
      await eventually('rejoin during the outage', () => away.joins.length >= 2, 20_000);
      assert.equal(away.joins.at(-1)!.recovered, false, JSON.stringify(away.joins.at(-1)));
      assert.deepEqual(numbers(away), range(1, 10), 'no partial fill');

      await postgres.restart();
      await eventually('history writes resumed', () => /history writes resumed/.test(node.output()), 60_000);
      const top = 10 + outage;
      await publishRange(node, topic, top + 1, top + 10);
      await eventually(
        'writes after the restart are stored',
        async () => (await storedOffsets()).includes(top + 10),
        30_000,
      );

      // With PostgreSQL back, a range over the dropped writes is still a hole: recovered false.
      const late = phoenixSocket(node.socketUrl, { params: { token } });
      late.connect();
      try {
        const ch = late.channel(topic, { recover: { epoch: away.position()!.epoch, offset: 10 } });
        const reply = await join(ch, 20_000);
        assert.equal(reply.status, 'ok');
        const response = reply.response as { recovered: boolean; reason?: string };
        assert.deepEqual([response.recovered, response.reason], [false, 'gap']);
      } finally {
        late.disconnect();
      }

      // A client whose gap lies after the restart recovers in full (ring + PostgreSQL).
      await eventually('away received the live messages', () => away.position()!.offset === top + 10, 20_000);
      away.socket.disconnect();
      const from = away.position()!.offset;
      await publishRange(node, topic, top + 11, top + 20);
      await eventually(
        'the new gap is in PostgreSQL',
        async () => (await storedOffsets()).includes(top + 20),
        30_000,
      );
      away.socket.connect();
      await eventually('rejoin after the restart', () => away.joins.length >= 3, 20_000);
      assert.equal(away.joins.at(-1)!.recovered, true, JSON.stringify(away.joins.at(-1)));
      await eventually('the gap filled', () => away.position()!.offset === top + 20, 20_000);
      const after = away.delivered.filter((m) => m.position && m.position.offset > from);
      assert.deepEqual(
        after.map((m) => m.position!.offset),
        range(from + 1, top + 20),
      );
      assert.equal(node.proc.child.exitCode, null, 'nothing crashed');
      assert.equal(await status(`${node.metricsUrl}/healthz`), 200);
    } finally {
      away.socket.disconnect();
      plain.socket.disconnect();
    }
  });
});
