// Issue 12 follow-up: a recovering join read its whole gap (up to HISTORY_RECOVERY_MAX = 1000
// messages, ~64 MB of 64 KiB messages) from PostgreSQL into memory, so concurrent recovering joins
// of big gaps took hundreds of MB. Now a gap is sized in PostgreSQL before it is read:
// HISTORY_RECOVERY_MAX_BYTES per join (`too_large`) and HISTORY_RECOVERY_NODE_MAX_BYTES for all the
// recoveries a node holds at once (`busy`).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pgClient from 'pg';
import {
  signToken,
  startPostgres,
  startSwitchboard,
  testSecrets,
  type PostgresServer,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { eventually } from '../support/phoenix.js';
import { openRaw, type RawClient } from '../support/raw-client.js';
import {
  assertRss,
  connectionsAtMost,
  measureRss,
  rssLine,
  underlyingSocket,
} from '../support/resource-bounds.js';

const PAYLOAD_BYTES = 60_000;
/** 300 x 60 KB = 18 MB: over the default HISTORY_RECOVERY_MAX_BYTES (4 MiB), under HISTORY_RECOVERY_MAX. */
const BIG_GAP = 300;
/** 50 x 60 KB = 3 MB: within the per-join bound; five of them fit the node budget below. */
const SMALL_GAP = 50;
const NODE_BUDGET = 16 * 1024 * 1024;
const CONCURRENT = 12;
/** Stated bound on RSS growth while CONCURRENT joins recover 18 MB gaps (before the fix: hundreds of MiB). */
const PEAK_OVER_MIB = 64;

let pg: PostgresServer;
let node: SwitchboardProcess;
before(async () => {
  pg = await startPostgres();
  node = await startSwitchboard(
    {
      DATABASE_URL: pg.url,
      // A hot cache of 3: the gap comes from PostgreSQL.
      HISTORY_CACHE_SIZE: '3',
      HISTORY_RECOVERY_NODE_MAX_BYTES: String(NODE_BUDGET),
      LOG_LEVEL: 'warn',
    },
    { readyTimeoutMs: 60_000 },
  );
});
after(async () => {
  await node?.stop();
  await pg?.stop();
});

const isReply = (ref: string) => (f: unknown[]) => f[1] === ref && f[3] === 'phx_reply';
interface JoinReply {
  status: string;
  response: { recovered: boolean; reason?: string; epoch: string; offset: number };
}

/** A topic with `count` messages of PAYLOAD_BYTES published after the returned position. */
async function topicWithGap(count: number): Promise<{ topic: string; epoch: string; start: number }> {
  const topic = `room:gap-${Math.random().toString(36).slice(2)}`;
  const token = await signToken({ sub: 'reader', join: ['room:*'] });
  const first = await openRaw(node.socketUrl, token);
  first.send(['1', '1', topic, 'phx_join', { recover: true }]);
  const { epoch, offset: start } = ((await first.waitFor(isReply('1'), 'first join'))[4] as JoinReply)
    .response;
  first.ws.close();
  for (let n = 1; n <= count; n++) {
    const res = await fetch(`${node.httpUrl}/api/broadcast`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testSecrets.apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ topic, event: 'msg', payload: { n, fill: 'x'.repeat(PAYLOAD_BYTES) } }),
    });
    assert.equal(res.status, 202);
  }
  // The writes reach PostgreSQL in batches every HISTORY_FLUSH_MS (100 ms).
  await eventually('the gap in PostgreSQL', async () => (await storedRows(topic)) === count, 30_000);
  return { topic, epoch, start };
}

async function storedRows(topic: string): Promise<number> {
  const client = new pgClient.Client({ connectionString: pg.url });
  await client.connect();
  try {
    const r = await client.query<{ n: string }>('SELECT count(*) AS n FROM history WHERE topic = $1', [
      topic,
    ]);
    return Number(r.rows[0]!.n);
  } finally {
    await client.end();
  }
}

/** Recoveries answered so far (switchboard_recoveries_total, every outcome). */
async function recoveriesAnswered(): Promise<number> {
  const text = await (await fetch(`${node.metricsUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('switchboard_recoveries_total{'))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

async function recoveringJoin(topic: string, epoch: string, offset: number): Promise<RawClient> {
  const c = await openRaw(node.socketUrl, await signToken({ sub: 'reader', join: ['room:*'] }));
  c.send(['1', '1', topic, 'phx_join', { recover: { epoch, offset } }]);
  return c;
}

test(`${CONCURRENT} concurrent recovering joins of ${BIG_GAP} x ${PAYLOAD_BYTES} bytes each get "too_large" without reading the gap`, async () => {
  const { topic, epoch, start } = await topicWithGap(BIG_GAP);
  const replies: JoinReply[] = [];
  const figures = await measureRss(
    node,
    async () => {
      const clients = await Promise.all(
        Array.from({ length: CONCURRENT }, () => recoveringJoin(topic, epoch, start)),
      );
      for (const c of clients) {
        replies.push((await c.waitFor(isReply('1'), 'recovering join reply', 30_000))[4] as JoinReply);
        c.ws.close();
      }
    },
    () => connectionsAtMost(node, 0),
    PEAK_OVER_MIB,
  );
  console.log(
    rssLine(`${CONCURRENT} recoveries of ${BIG_GAP} x 60 KB`, figures, PEAK_OVER_MIB, PEAK_OVER_MIB),
  );
  for (const r of replies) {
    assert.equal(r.status, 'ok');
    assert.deepEqual(r.response, { recovered: false, epoch, offset: start + BIG_GAP, reason: 'too_large' });
  }
  assertRss(figures, PEAK_OVER_MIB, PEAK_OVER_MIB);
});

test(`recoveries held at once stay within HISTORY_RECOVERY_NODE_MAX_BYTES: the rest get "busy", and the budget comes back`, async () => {
  const { topic, epoch, start } = await topicWithGap(SMALL_GAP);
  const answeredBefore = await recoveriesAnswered();
  // Clients that do not read hold their recovery (it streams under backpressure) and its budget.
  const clients = await Promise.all(
    Array.from({ length: CONCURRENT }, async () => {
      const c = await recoveringJoin(topic, epoch, start);
      underlyingSocket(c.ws).pause();
      return c;
    }),
  );
  // Every join is answered (recovered or busy) while none of the clients reads.
  await eventually(
    'every recovering join answered',
    async () => (await recoveriesAnswered()) >= answeredBefore + CONCURRENT,
    30_000,
  );
  for (const c of clients) underlyingSocket(c.ws).resume();
  let recovered = 0;
  let busy = 0;
  for (const c of clients) {
    const r = (await c.waitFor(isReply('1'), 'recovering join reply', 30_000))[4] as JoinReply;
    assert.equal(r.status, 'ok');
    if (r.response.recovered) {
      recovered++;
      await c.waitFor((f) => f[1] === `${epoch}:${start + SMALL_GAP}`, 'the last recovered message', 30_000);
      const ns = c.frames
        .filter((f): f is unknown[] => Array.isArray(f) && f[3] === 'msg')
        .map((f) => (f[4] as { n: number }).n);
      assert.deepEqual(
        ns,
        Array.from({ length: SMALL_GAP }, (_, i) => i + 1),
      );
    } else {
      busy++;
      assert.deepEqual(r.response, { recovered: false, epoch, offset: start + SMALL_GAP, reason: 'busy' });
    }
    c.ws.close();
  }
  const gapBytes = SMALL_GAP * PAYLOAD_BYTES;
  console.log(
    `node budget ${NODE_BUDGET} bytes, gap ~${gapBytes} bytes: ${recovered} recovered, ${busy} busy`,
  );
  assert.ok(recovered >= 1, 'at least one recovery fits the budget');
  assert.ok(recovered * gapBytes <= NODE_BUDGET, `${recovered} recoveries of ${gapBytes} bytes held at once`);
  assert.equal(recovered + busy, CONCURRENT);

  // Every recovery gave its budget back: a later one is served.
  const again = await recoveringJoin(topic, epoch, start);
  const r = (await again.waitFor(isReply('1'), 'later recovering join', 30_000))[4] as JoinReply;
  assert.equal(r.response.recovered, true, JSON.stringify(r.response));
  await again.waitFor((f) => f[1] === `${epoch}:${start + SMALL_GAP}`, 'the last recovered message', 30_000);
  again.ws.close();
});
