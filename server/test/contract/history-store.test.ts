// HistoryStore contract against a real PostgreSQL (testkit): migrations, batched writes, reads,
// retention, and the bounded queue while PostgreSQL is down.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import { startPostgres, tempDir, type PostgresServer } from '../../../testkit/src/index.js';
import { migrate } from '../../src/store/migrate.js';
import { migrations } from '../../src/store/migrations/index.js';
import {
  PostgresHistoryStore,
  type PostgresHistoryStoreOptions,
} from '../../src/store/postgres-history-store.js';
import type { SequencedPublication } from '../../src/store/sequencer.js';
import { metrics } from '../../src/telemetry/metrics.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../../', import.meta.url));

let server: PostgresServer;
let admin: pg.Pool;
const pools: pg.Pool[] = [];
const stores: PostgresHistoryStore[] = [];
let dbCount = 0;

/** A fresh, empty database on the test server. */
async function freshDatabase(): Promise<string> {
  const name = `t${++dbCount}_${process.pid}`;
  await admin.query(`CREATE DATABASE ${name}`);
  return server.url.replace(/\/postgres$/, `/${name}`);
}

function poolFor(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 3 });
  pool.on('error', () => undefined);
  pools.push(pool);
  return pool;
}

function capturingLogger(): { logger: pino.Logger; lines: () => { msg: string; [k: string]: unknown }[] } {
  const out: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void out.push(line) });
  return { logger, lines: () => out.map((l) => JSON.parse(l)) };
}

async function newStore(
  url: string,
  over: Partial<PostgresHistoryStoreOptions> = {},
): Promise<PostgresHistoryStore> {
  const store = new PostgresHistoryStore({
    databaseUrl: url,
    queueMax: 10_000,
    batchSize: 100,
    flushMs: 20,
    retentionCount: 1000,
    retentionSeconds: 86_400,
    migrateOnStart: true,
    pruneIntervalMs: 3_600_000,
    maxBackoffMs: 200,
    ...over,
  });
  stores.push(store);
  await store.start();
  return store;
}

function pubs(
  topic: string,
  epoch: string,
  from: number,
  to: number,
  at = Date.now(),
): SequencedPublication[] {
  const out: SequencedPublication[] = [];
  for (let o = from; o <= to; o++) {
    out.push({
      topic,
      epoch,
      offset: o,
      event: 'msg',
      payloadJson: `{"o":${o}}`,
      origin: 'node-a',
      publishedAt: at,
    });
  }
  return out;
}

async function eventually(check: () => Promise<void>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const counter = async (c: { get(): Promise<{ values: { value: number }[] }> }) =>
  (await c.get()).values.reduce((s, v) => s + v.value, 0);

describe('PostgreSQL history store', () => {
  before(async () => {
    server = await startPostgres();
    admin = poolFor(server.url);
  });
  after(async () => {
    for (const s of stores) await s.close();
    for (const p of pools) await p.end();
    await server?.stop();
  });

  test('migrations apply once, are idempotent and record their versions', async () => {
    const pool = poolFor(await freshDatabase());
    const first = await migrate(pool);
    assert.deepEqual(first.applied, [1]);
    const second = await migrate(pool);
    assert.deepEqual(second, { applied: [], version: 1 });
    const { rows } = await pool.query('SELECT version, name FROM schema_migrations ORDER BY version');
    assert.deepEqual(rows, [{ version: 1, name: 'create_history' }]);
    // Versions are 1..n without gaps, so a new migration cannot silently take an old number.
    assert.deepEqual(
      migrations.map((m) => m.version),
      migrations.map((_, i) => i + 1),
    );
  });

  test('concurrent migrate() runs (separate connections) apply each migration exactly once', async () => {
    const url = await freshDatabase();
    const results = await Promise.all(Array.from({ length: 5 }, () => migrate(poolFor(url))));
    assert.deepEqual(results.flatMap((r) => r.applied).sort(), [1]);
    const { rows } = await poolFor(url).query('SELECT count(*)::int AS n FROM schema_migrations');
    assert.equal(rows[0].n, 1);
  });

  test('a failing migration is rolled back and named, and leaves no version row', async () => {
    const pool = poolFor(await freshDatabase());
    const bad = [
      ...migrations,
      { version: 2, name: 'broken', sql: 'CREATE TABLE half (x int); SELECT nope;' },
    ];
    await assert.rejects(
      migrate(pool, { migrations: bad }),
      /migration 0002_broken failed and was rolled back/,
    );
    const { rows } = await pool.query(
      `SELECT to_regclass('half') AS half, max(version) AS v FROM schema_migrations`,
    );
    assert.deepEqual(rows[0], { half: null, v: 1 });
  });

  test('the migrate command runs from source (tsx) and compiled (no .sql files needed)', async () => {
    const url = await freshDatabase();
    const env = { PATH: process.env.PATH ?? '', DATABASE_URL: url };
    const src = await run(process.execPath, ['--import', 'tsx', 'server/src/store/migrate.ts'], {
      cwd: repo,
      env,
    });
    assert.match(src.stdout, /applied migrations 1; schema version 1/);

    // Compile migrate.ts alone as the build does (tsc, which copies no .sql) and run the output.
    const out = tempDir('migrate-build');
    const tsconfig = join(out, 'tsconfig.json');
    writeFileSync(
      tsconfig,
      JSON.stringify({
        extends: join(repo, 'tsconfig.base.json'),
        compilerOptions: {
          outDir: join(out, 'dist'),
          rootDir: join(repo, 'server/src'),
          noEmit: false,
          typeRoots: [join(repo, 'node_modules/@types')],
        },
        files: [join(repo, 'server/src/store/migrate.ts')],
      }),
    );
    await run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], {
      cwd: repo,
    });
    writeFileSync(join(out, 'dist/package.json'), '{"type":"module"}');
    // Resolve pg from the repo's node_modules, as the server image does from its own.
    const { symlinkSync } = await import('node:fs');
    symlinkSync(join(repo, 'node_modules'), join(out, 'node_modules'));
    const url2 = await freshDatabase();
    const built = await run(process.execPath, [join(out, 'dist/store/migrate.js')], {
      env: { ...env, DATABASE_URL: url2 },
    });
    assert.match(built.stdout, /applied migrations 1; schema version 1/);
    const again = await run(process.execPath, [join(out, 'dist/store/migrate.js')], {
      env: { ...env, DATABASE_URL: url2 },
    });
    assert.match(again.stdout, /schema up to date \(version 1\)/);

    const missing = await run(process.execPath, ['--import', 'tsx', 'server/src/store/migrate.ts'], {
      cwd: repo,
      env: { PATH: env.PATH },
    }).then(
      () => assert.fail('migrate without DATABASE_URL must fail'),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /DATABASE_URL is not set: set it to postgres:\/\//);
  });

  test('batched writes land and read returns ranges in offset order, content intact', async () => {
    const url = await freshDatabase();
    const store = await newStore(url, { batchSize: 50 });
    const writesBefore = (await metrics.historyWriteLatency.get()).values.find((v) =>
      v.metricName?.endsWith('_count'),
    );
    const at = Date.now() - 1234;
    // Verbatim: a number JSON.parse cannot hold, a lone surrogate escape, spacing and key order.
    const payloadJson =
      '{"empty":[],"obj":{},"text":"é\u2028😀 \\"q\\"","n":1.25,"big":1e400,"lone":"\\ud800","nul":null,"z":1,"a":[{"a":[1, 2]}]}';
    const items = pubs('room:a', 'E1', 1, 120, at).map((p, i) =>
      i === 0
        ? { ...p, payloadJson, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }
        : p,
    );
    for (const p of items) store.enqueue(p);
    for (const p of pubs('room:b', 'E1', 1, 5)) store.enqueue(p);
    store.enqueue({ ...pubs('room:bin', 'E1', 1, 1)[0]!, payload: 'AAEC/w==', binary: true });
    assert.equal(await store.flush(20_000), true);
    assert.equal(store.queueDepth, 0);
    assert.equal((await metrics.historyQueueDepth.get()).values[0]?.value, 0);

    const all = await store.read('room:a', 'E1', 0, 1000);
    assert.deepEqual(
      all.map((p) => p.offset),
      Array.from({ length: 120 }, (_, i) => i + 1),
    );
    assert.deepEqual(all[0], items[0]);
    assert.equal(all[0]!.publishedAt, at);
    assert.deepEqual(
      (await store.read('room:a', 'E1', 100, 10)).map((p) => p.offset),
      [101, 102, 103, 104, 105, 106, 107, 108, 109, 110],
    );
    assert.deepEqual(await store.read('room:a', 'E2', 0, 10), []);
    assert.equal((await store.read('room:b', 'E1', 0, 10)).length, 5);
    const [bin] = await store.read('room:bin', 'E1', 0, 10);
    assert.deepEqual([bin?.binary, bin?.payload], [true, 'AAEC/w==']);
    assert.equal('binary' in all[0]!, false);
    // 126 rows in batches of at most 50: at least 3 INSERTs, each timed.
    const writesAfter = (await metrics.historyWriteLatency.get()).values.find((v) =>
      v.metricName?.endsWith('_count'),
    );
    assert.ok((writesAfter?.value ?? 0) - (writesBefore?.value ?? 0) >= 3);
    const { rows } = await poolFor(url).query('SELECT count(*)::int AS n FROM history');
    assert.equal(rows[0].n, 126);
  });

  test('flush writes at once, without waiting for the flush interval', async () => {
    const store = await newStore(await freshDatabase(), { flushMs: 600_000 });
    for (const p of pubs('room:f', 'E', 1, 3)) store.enqueue(p);
    assert.equal(await store.flush(20_000), true);
    assert.equal((await store.read('room:f', 'E', 0, 10)).length, 3);
  });

  test('a row PostgreSQL rejects is dropped and counted; the rest of its batch lands', async () => {
    const store = await newStore(await freshDatabase());
    const droppedBefore = await counter(metrics.historyDropped);
    const batch = pubs('room:bad', 'E', 1, 5);
    batch[2] = { ...batch[2]!, event: 'nul\u0000byte' };
    for (const p of batch) store.enqueue(p);
    assert.equal(await store.flush(20_000), true);
    assert.deepEqual(
      (await store.read('room:bad', 'E', 0, 10)).map((p) => p.offset),
      [1, 2, 4, 5],
    );
    assert.equal((await counter(metrics.historyDropped)) - droppedBefore, 1);
  });

  test('retention by count keeps the newest N offsets per topic and epoch', async () => {
    const store = await newStore(await freshDatabase(), { retentionCount: 10 });
    for (const p of pubs('room:c', 'E', 1, 30)) store.enqueue(p);
    for (const p of pubs('room:d', 'E', 1, 5)) store.enqueue(p);
    assert.equal(await store.flush(20_000), true);
    const pruned = await store.prune();
    assert.equal(pruned.byCount, 20);
    assert.deepEqual(
      (await store.read('room:c', 'E', 0, 100)).map((p) => p.offset),
      Array.from({ length: 10 }, (_, i) => i + 21),
    );
    assert.equal((await store.read('room:d', 'E', 0, 100)).length, 5);
  });

  test('retention by age deletes what is older than retentionSeconds', async () => {
    const store = await newStore(await freshDatabase(), { retentionSeconds: 3600 });
    for (const p of pubs('room:old', 'E', 1, 3, Date.now() - 2 * 3_600_000)) store.enqueue(p);
    for (const p of pubs('room:old', 'E', 4, 5)) store.enqueue(p);
    assert.equal(await store.flush(20_000), true);
    const pruned = await store.prune();
    assert.equal(pruned.byAge, 3);
    assert.deepEqual(
      (await store.read('room:old', 'E', 0, 100)).map((p) => p.offset),
      [4, 5],
    );
  });

  test('PostgreSQL down: enqueue keeps working, the queue stays bounded, drops are counted; writes resume alone', async () => {
    const url = await freshDatabase();
    const { logger, lines } = capturingLogger();
    const store = await newStore(url, { queueMax: 100, batchSize: 10, flushMs: 10, logger });
    for (const p of pubs('room:w', 'E', 1, 5)) store.enqueue(p);
    assert.equal(await store.flush(20_000), true);

    // A second node starting while PostgreSQL is down, on a database never migrated.
    const lateUrl = await freshDatabase();
    await server.kill();
    const late = await newStore(lateUrl, { flushMs: 10 });
    late.enqueue(pubs('room:late', 'E', 1, 1)[0]!);
    const droppedBefore = await counter(metrics.historyDropped);
    for (const p of pubs('room:w', 'E', 6, 155)) store.enqueue(p);
    assert.equal(store.queueDepth, 100);
    assert.equal((await metrics.historyQueueDepth.get()).values[0]?.value, 100);
    assert.equal((await counter(metrics.historyDropped)) - droppedBefore, 50);
    assert.equal(await store.flush(500), false);
    // One warning for the 50 drops (rate-limited), and the write failures are reported.
    assert.equal(lines().filter((l) => /queue full/.test(l.msg)).length, 1);
    await eventually(async () => assert.ok(lines().some((l) => /write failed/.test(l.msg))));

    await server.restart();
    // No flush call: the background writer retries on its own.
    await eventually(async () => assert.equal(store.queueDepth, 0));
    assert.deepEqual(
      (await store.read('room:w', 'E', 0, 1000)).map((p) => p.offset),
      Array.from({ length: 105 }, (_, i) => i + 1),
    );
    assert.ok(lines().some((l) => l.msg === 'history writes resumed'));
    // The late starter applied the migrations once PostgreSQL was back, then wrote its row.
    await eventually(async () => assert.equal(late.queueDepth, 0));
    assert.equal((await late.read('room:late', 'E', 0, 10)).length, 1);
  });
});
