// Graceful drain with history: SIGTERM closes every connection with 1012 in paced batches over
// DRAIN_WINDOW_MS, logs its progress, writes the history PostgreSQL has not got yet, and exits 0
// within the window plus the documented margin. (lifecycle.test.ts covers readiness and upgrades.)
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import {
  signToken,
  startPostgres,
  startSwitchboard,
  testSecrets,
  type PostgresServer,
} from '../../../testkit/src/index.js';
import { eventually } from '../support/phoenix.js';
import { openRaw, type RawClient } from '../support/raw-client.js';

const DRAIN_WINDOW_MS = 2000;
/** SHUTDOWN_MARGIN_MS in server/src/main.ts, plus slack for a busy machine (process start-up is not in it). */
const EXIT_BOUND_MS = DRAIN_WINDOW_MS + 8000 + 5000;

let postgres: PostgresServer;
before(async () => {
  postgres = await startPostgres();
});
after(() => postgres?.stop());

async function rowCount(topic: string): Promise<number> {
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  try {
    const r = await client.query<{ n: string }>('SELECT count(*) AS n FROM history WHERE topic = $1', [
      topic,
    ]);
    return Number(r.rows[0]!.n);
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return 0; // table not migrated yet
    throw err;
  } finally {
    await client.end();
  }
}

test('SIGTERM flushes pending history writes, logs batches, closes with 1012 and exits 0 within the window plus margin', async () => {
  const topic = 'room:drain-flush';
  // The writer would hold a partial batch for a minute: only the drain's flush can write it in time.
  const sb = await startSwitchboard(
    {
      DATABASE_URL: postgres.url,
      DRAIN_WINDOW_MS: String(DRAIN_WINDOW_MS),
      HISTORY_FLUSH_MS: '60000',
      HISTORY_BATCH_SIZE: '10000',
      HISTORY_QUEUE_MAX: '20000',
    },
    { readyTimeoutMs: 60_000 },
  );
  const token = await signToken({ sub: 'drained', join: ['room:*'] });
  const clients: RawClient[] = [];
  for (let i = 0; i < 30; i++) {
    const c = await openRaw(sb.socketUrl, token);
    c.send(['1', '1', topic, 'phx_join', {}]);
    await c.waitFor((f) => f[3] === 'phx_reply', 'join reply');
    clients.push(c);
  }
  const published = 200;
  for (let n = 1; n <= published; n++) {
    const res = await fetch(`${sb.httpUrl}/api/broadcast`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testSecrets.apiToken}` },
      body: JSON.stringify({ topic, event: 'msg', payload: { n } }),
    });
    assert.equal(res.status, 202);
  }
  await eventually(
    'every client received every message',
    () =>
      clients.every((c) => c.frames.filter((f) => Array.isArray(f) && f[3] === 'msg').length === published),
    20_000,
  );
  assert.equal(await rowCount(topic), 0, 'nothing written yet: the writer holds the partial batch');

  const codes: number[] = [];
  for (const c of clients) void c.closed.then(({ code }) => codes.push(code));
  const t0 = Date.now();
  const { code } = await sb.stop('SIGTERM', 60_000);
  const exitMs = Date.now() - t0;
  assert.equal(code, 0, sb.output());
  assert.ok(exitMs < EXIT_BOUND_MS, `exited after ${exitMs} ms (bound ${EXIT_BOUND_MS} ms)`);
  await eventually('every client saw its close', () => codes.length === clients.length);
  assert.deepEqual(new Set(codes), new Set([1012]));

  assert.equal(await rowCount(topic), published, 'the drain wrote every pending publication to PostgreSQL');
  const log = sb.output();
  const batches = log.split('\n').filter((l) => l.includes('draining: closed a batch with 1012'));
  assert.ok(batches.length >= 2, `paced batches were logged:\n${log}`);
  const last = JSON.parse(batches.at(-1)!) as { remaining: number; closed: number };
  assert.equal(last.remaining, 0);
  assert.match(log, /draining: history writes flushed/);
  assert.match(log, /"msg":"bye"/);
  console.log(`drain: 30 connections, ${published} pending history rows flushed, exit 0 after ${exitMs} ms`);
});
