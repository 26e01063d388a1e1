// PostgreSQL backups (docs/operations.md#backups): the backup.sh and restore.sh the staging overlay
// ships, run with Debian's pg_dump/pg_restore against a real PostgreSQL that holds a real server's
// history. The database is destroyed (the server killed, a new empty one started), restored while a
// new server runs on it, and recovery answers from the restored history: the history API and a
// rejoin whose gap only PostgreSQL holds (the Redis hot cache keeps the last 10). Prints how long backup and restore took.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { WebSocket } from 'ws';
import { parseAllDocuments } from 'yaml';
import {
  postgresBinDir,
  signToken,
  startPostgres,
  startRedis,
  startSwitchboard,
  tempDir,
  testSecrets,
  type PostgresServer,
  type RedisServer,
  type SwitchboardProcess,
} from '../../testkit/src/index.js';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const TOPIC = 'room:backup';
const PUBLISHED = 300;

interface Doc {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: unknown;
}

let redis: RedisServer;
const databases: PostgresServer[] = [];
const servers: SwitchboardProcess[] = [];
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  await Promise.all(databases.map((d) => d.stop()));
  await redis?.stop();
});

async function rendered(overlay: string): Promise<Doc[]> {
  const { stdout } = await run('kubectl', ['kustomize', join(repo, 'overlays', overlay)], {
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  return parseAllDocuments(stdout).map((d) => d.toJS() as Doc);
}

async function rows(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query<{ n: string }>('SELECT count(*) AS n FROM history WHERE topic = $1', [
      TOPIC,
    ]);
    return Number(r.rows[0]!.n);
  } finally {
    await client.end();
  }
}

async function startNode(database: PostgresServer): Promise<SwitchboardProcess> {
  const node = await startSwitchboard({
    BROKER: 'redis',
    REDIS_URL: redis.url,
    DATABASE_URL: database.url,
    // A hot cache of 10: a rejoin from the start needs PostgreSQL for all but the last 10.
    HISTORY_CACHE_SIZE: '10',
    LOG_LEVEL: 'warn',
  });
  servers.push(node);
  return node;
}

async function publish(node: SwitchboardProcess, n: number): Promise<void> {
  const res = await fetch(`${node.httpUrl}/api/broadcast`, {
    method: 'POST',
    headers: { authorization: `Bearer ${testSecrets.apiToken}` },
    body: JSON.stringify({ topic: TOPIC, event: 'msg', payload: { n } }),
  });
  assert.equal(res.status, 202);
}

/** Joins TOPIC with `recover: {epoch, offset: 0}` and returns the `n` of every message recovered. */
async function rejoinFromStart(node: SwitchboardProcess, epoch: string): Promise<number[]> {
  const token = await signToken({ sub: 'restored', join: ['room:*'] });
  const ws = new WebSocket(`${node.socketUrl}/websocket?vsn=2.0.0&token=${token}`);
  const got: number[] = [];
  let reply: { recovered?: boolean } | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`recovered ${got.length} of ${PUBLISHED}`)), 30_000);
      ws.once('error', reject);
      ws.once('open', () =>
        ws.send(JSON.stringify(['1', '1', TOPIC, 'phx_join', { recover: { epoch, offset: 0 } }])),
      );
      ws.on('message', (data: Buffer) => {
        const [, , , event, payload] = JSON.parse(data.toString()) as [
          unknown,
          unknown,
          string,
          string,
          Record<string, unknown>,
        ];
        if (event === 'phx_reply') reply = (payload as { response: { recovered?: boolean } }).response;
        if (event === 'msg') got.push((payload as { n: number }).n);
        if (got.length === PUBLISHED) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } finally {
    ws.close();
  }
  assert.equal(reply?.recovered, true);
  return got;
}

test(
  'the shipped backup and restore bring the history back after the database is lost',
  { timeout: 300_000 },
  async () => {
    const docs = await rendered('staging');
    const scripts = docs.find(
      (d) => d.kind === 'ConfigMap' && d.metadata.name.startsWith('postgres-backup-scripts'),
    );
    assert.ok(scripts?.data?.['backup.sh'] && scripts.data['restore.sh'], 'staging ships the backup scripts');
    const cron = docs.find((d) => d.kind === 'CronJob' && d.metadata.name === 'postgres-backup');
    const database = docs.find((d) => d.kind === 'StatefulSet' && d.metadata.name === 'postgres');
    const image = (doc: Doc | undefined, path: string[]) =>
      path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], doc?.spec);
    const cronImage = (
      image(cron, ['jobTemplate', 'spec', 'template', 'spec', 'containers']) as { image: string }[]
    )[0]!.image;
    const dbImage = (
      image(database, ['template', 'spec', 'containers']) as { name: string; image: string }[]
    ).find((c) => c.name === 'postgres')!.image;
    assert.equal(
      cronImage,
      dbImage,
      "the backup runs the database's own image: pg_dump of the same major version",
    );

    const dir = tempDir('pg-backup');
    const bin = join(dir, 'scripts');
    mkdirSync(bin);
    writeFileSync(join(bin, 'backup.sh'), scripts.data['backup.sh']);
    writeFileSync(join(bin, 'restore.sh'), scripts.data['restore.sh']);
    const backups = join(dir, 'backups');
    mkdirSync(backups);

    // A server writes history to PostgreSQL.
    const first = await startPostgres();
    databases.push(first);
    const writer = await startNode(first);
    for (let n = 1; n <= PUBLISHED; n++) await publish(writer, n);
    for (let i = 0; (await rows(first.url)) < PUBLISHED; i++) {
      assert.ok(i < 200, 'the server wrote every publication to PostgreSQL');
      await new Promise((r) => setTimeout(r, 50)); // pacing: poll the table
    }

    const pgEnv = (db: PostgresServer) => ({
      PATH: `${postgresBinDir()}:${process.env.PATH ?? ''}`,
      PGHOST: '127.0.0.1',
      PGPORT: String(db.port),
      PGUSER: 'postgres',
      PGDATABASE: 'postgres',
      BACKUP_DIR: backups,
      BACKUP_KEEP: '2',
    });
    // Older backups, one of which BACKUP_KEEP=2 keeps.
    for (const stamp of ['20000101T000000Z', '20000102T000000Z'])
      writeFileSync(join(backups, `switchboard-${stamp}.dump`), 'old');
    const t0 = Date.now();
    const backup = await run('sh', [join(bin, 'backup.sh')], { env: pgEnv(first), timeout: 120_000 });
    const backupMs = Date.now() - t0;
    assert.match(backup.stdout, /backup: wrote .*switchboard-\d{8}T\d{6}Z\.dump \(\d+ bytes\)/);
    const kept = readdirSync(backups).sort();
    assert.equal(kept.length, 2, `kept the newest two: ${kept.join(', ')}`);
    assert.equal(kept[0], 'switchboard-20000102T000000Z.dump');
    const dump = join(backups, kept[1]!);
    assert.ok(statSync(dump).size > 1000);

    // The disk is lost: the server and its database are gone; a new, empty database and a new server.
    await writer.kill();
    await first.kill();
    const second = await startPostgres();
    databases.push(second);
    const reader = await startNode(second);
    assert.equal(
      await rows(second.url),
      0,
      'the new database has the schema (migrated at start) and no history',
    );

    const refused = await run('sh', [join(bin, 'restore.sh')], { env: pgEnv(second) }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal((refused as { code: number }).code, 2, 'restore without a file names the newest one');
    assert.match(
      (refused as { stderr: string }).stderr,
      /restore: give the backup file, e\.g\. restore\.sh .*switchboard-\d{8}T\d{6}Z\.dump/,
    );

    const t1 = Date.now();
    const restore = await run('sh', [join(bin, 'restore.sh'), dump], {
      env: pgEnv(second),
      timeout: 120_000,
    });
    const restoreMs = Date.now() - t1;
    assert.match(restore.stdout, /restore: restored/);
    assert.equal(await rows(second.url), PUBLISHED);

    // Recovery answers from the restored history: the history API from the start ...
    const res = await fetch(
      `${reader.httpUrl}/api/topics/${encodeURIComponent(TOPIC)}/messages?since=0&limit=1000`,
      {
        headers: { authorization: `Bearer ${testSecrets.apiToken}` },
      },
    );
    assert.equal(res.status, 200);
    const page = (await res.json()) as {
      epoch: string;
      complete: boolean;
      messages: { offset: number; payload: { n: number } }[];
    };
    const all = Array.from({ length: PUBLISHED }, (_, i) => i + 1);
    assert.deepEqual(
      page.messages.map((m) => m.payload.n),
      all,
    );
    assert.equal(page.complete, true);
    // ... and a client rejoining from the topic's start: all but the last 10 come from PostgreSQL.
    const recovered = await rejoinFromStart(reader, page.epoch);
    assert.deepEqual(recovered, all);
    console.log(
      `postgres backup: ${PUBLISHED} history rows, backup ${backupMs} ms (${statSync(dump).size} bytes), restore ${restoreMs} ms into a new database; the history API and a rejoin from the start recovered all of them`,
    );
  },
);
