// Resource bounds of shared rooms, driven 10x past their limits against a real node with the
// server's RSS measured before, during and after: presence churn (per-topic presence join rate)
// and history bytes (per-topic and node-wide byte budgets of the memory ring). The bounds are
// the ones written in docs/protocol.md ("Resource bounds"); the figures go to docs/scaling.md.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { signToken, startSwitchboard, testSecrets } from '../../../testkit/src/index.js';
import { openRaw, type RawClient } from '../support/raw-client.js';
import {
  assertRss,
  connectionsAtMost,
  measureRss,
  metricValue,
  MiB,
  rssLine,
} from '../support/resource-bounds.js';

/** Presence churn test: the per-topic limit (lower than the defaults, 50/s and 200, so one test client can offer 10x). */
const CHURN_RATE = 20;
const CHURN_BURST = 50;
/** History test: node-wide budget and publication size. */
const BUDGET = 32 * MiB;
const SIZE = 1_000_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Joins room:churn with `params` and resolves once the join is accepted, retrying (bounded) while
 * the per-topic presence rate refuses it: the bucket refills with time, and a refused join is the
 * only way to see that it has not yet.
 */
async function joinTracked(c: RawClient, label: string, params: Record<string, unknown>): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (let i = 0; ; i++) {
    const ref = `${label}${i}`;
    c.send([ref, ref, 'room:churn', 'phx_join', params]);
    const reply = (await c.waitFor((f) => f[1] === ref && f[3] === 'phx_reply', `${label} join`))[4];
    if ((reply as { status?: string }).status === 'ok') return;
    assert.match(JSON.stringify(reply), /presence rate limited: retry later/);
    assert.ok(Date.now() < deadline, `${label}: still refused after 20 s`);
    await sleep(100); // pacing: retry while the bucket refills
  }
}

/** Resolves once `member` received a presence_diff in which `sub` is among the `kind` (bounded). */
function diffOf(member: RawClient, sub: string, kind: 'joins' | 'leaves'): Promise<unknown[]> {
  return member.waitFor((f) => {
    const diff = f[3] === 'presence_diff' ? (f[4] as Record<string, Record<string, unknown>>) : undefined;
    return diff?.[kind]?.[sub] !== undefined;
  }, `${sub} in the ${kind} of a presence_diff`);
}

/** Counts the bytes of `presence_diff` frames a client receives (what each room member pays). */
function presenceBytes(ws: WebSocket): { bytes: number; frames: number } {
  const seen = { bytes: 0, frames: 0 };
  ws.on('message', (data: Buffer) => {
    if (data.includes('"presence_diff"')) {
      seen.bytes += data.length;
      seen.frames += 1;
    }
  });
  return seen;
}

describe('room bounds', () => {
  test('presence churn: 200 joins/s with 900-byte meta into a room of 50 (10x PRESENCE_CHURN_PER_SECOND=20)', async () => {
    const sb = await startSwitchboard({
      LOG_LEVEL: 'warn',
      PRESENCE_CHURN_PER_SECOND: String(CHURN_RATE),
      PRESENCE_CHURN_BURST: String(CHURN_BURST),
    });
    const clients: RawClient[] = [];
    try {
      const token = await signToken({ sub: 'member', join: ['room:*'] });
      for (let i = 0; i < 50; i++) {
        const c = await openRaw(sb.socketUrl, token);
        c.send(['1', '1', 'room:churn', 'phx_join', {}]);
        await c.waitFor((f) => f[1] === '1', 'member join');
        clients.push(c);
      }
      // The members' own joins took the burst: the probes below retry until the bucket lets them in.
      const member = presenceBytes(clients[0]!.ws);

      // What one presence join costs each member, without and with a 900-byte meta (for scaling.md),
      // and the presence_state a joiner of this room of 50 receives.
      const probeJoin = async (sub: string, params: Record<string, unknown>) => {
        member.bytes = 0;
        const probe = await openRaw(sb.socketUrl, await signToken({ sub, join: ['room:*'] }));
        await joinTracked(probe, 'p', params);
        await diffOf(clients[0]!, sub, 'joins');
        const diff = member.bytes;
        const state = await probe.waitFor((f) => f[3] === 'presence_state', 'presence_state');
        probe.ws.close();
        await diffOf(clients[0]!, sub, 'leaves'); // so that the next figure starts from nothing
        return { diff, state: JSON.stringify(state).length };
      };
      // A first probe is the marker that every member's own join diff has arrived (diffs of a topic
      // keep their order), so none of them is counted in the figures below.
      await probeJoin('warm', {});
      const plain = await probeJoin('probe0', {});
      // A meta over 1 KiB is refused with a clear reason, before it costs anyone anything.
      const big = await openRaw(sb.socketUrl, await signToken({ sub: 'big', join: ['room:*'] }));
      big.send(['b', 'b', 'room:churn', 'phx_join', { meta: { bio: 'x'.repeat(1100) } }]);
      assert.deepEqual((await big.waitFor((fr) => fr[1] === 'b', 'big meta reply'))[4], {
        status: 'error',
        response: { reason: 'meta must be a JSON object of at most 1024 bytes' },
      });
      big.ws.close();
      const meta = { bio: 'm'.repeat(900) };
      const oneJoin = (await probeJoin('probe1', { meta })).diff;
      // The churn starts with a full bucket (the worst case the bound is for). The bucket refills
      // with the server's clock, not with the machine's speed: BURST / RATE s after its last join
      // it is full, and waiting longer changes nothing.
      await sleep((CHURN_BURST / CHURN_RATE) * 1000 + 100); // pacing: the bucket refills with time
      member.bytes = 0;

      // 5 churners, each starting a join every 25 ms and leaving as soon as it is joined
      // (tracked): 200 presence joins/s offered, 10x PRESENCE_CHURN_PER_SECOND.
      const churners: RawClient[] = [];
      for (let i = 0; i < 5; i++) {
        churners.push(await openRaw(sb.socketUrl, await signToken({ sub: `churn${i}`, join: ['room:*'] })));
      }
      const churn = async (c: RawClient) => {
        const end = Date.now() + 3000;
        let lastLeave: string | undefined;
        for (let i = 0; Date.now() < end; i++) {
          const started = Date.now();
          c.send([`j${i}`, `j${i}`, 'room:churn', 'phx_join', { meta }]);
          const reply = await c.waitFor((fr) => fr[1] === `j${i}` && fr[3] === 'phx_reply', 'churn join');
          if ((reply[4] as { status: string }).status === 'ok') {
            lastLeave = `l${i}`;
            c.send([`j${i}`, lastLeave, 'room:churn', 'phx_leave', {}]);
          }
          await sleep(Math.max(0, 25 - (Date.now() - started))); // pacing: one join every 25 ms
        }
        // Every leave of this churner is untracked once the last one is answered.
        if (lastLeave) await c.waitFor((fr) => fr[1] === lastLeave && fr[3] === 'phx_reply', 'last leave');
      };
      const sentinel = await openRaw(sb.socketUrl, await signToken({ sub: 'sentinel', join: ['room:*'] }));
      const churnClients = [...churners, sentinel];
      const open = await metricValue(sb, 'switchboard_connections');
      const f = await measureRss(
        sb,
        async () => {
          await Promise.all(churners.map(churn));
          // Diffs of one topic keep their order: the sentinel's join, tracked after every churn
          // leave was answered, reaches the member after the last batched diff of the churn.
          await joinTracked(sentinel, 's', {});
          await diffOf(clients[0]!, 'sentinel', 'joins');
        },
        () => {
          for (const c of churnClients) c.ws.close();
          return connectionsAtMost(sb, open - churnClients.length);
        },
        24,
      );
      const replies = churners
        .flatMap((c) => c.frames)
        .filter((fr): fr is unknown[] => Array.isArray(fr) && String(fr[1]).startsWith('j'));
      const refused = replies.filter((fr) =>
        JSON.stringify(fr[4]).includes('presence rate limited: retry later'),
      ).length;
      const accepted = replies.filter((fr) => (fr[4] as { status?: string }).status === 'ok').length;
      const line =
        `presence churn 5 x 40/s, 900-byte meta, room of 50: ${accepted} joins accepted, ${refused} refused; ` +
        `one join = ${plain.diff} B (no meta) / ${oneJoin} B (900-byte meta) to each member, presence_state of 50 = ${plain.state} B; each member got ${member.bytes} B of diffs during the churn; ` +
        rssLine('', f, 32, 24);
      console.log(`# ${line}`);
      assert.ok(refused > 0, 'joins over the churn rate are refused with a clear reason');
      // At most burst + rate x (3 s + 1 s slack) joins, each with its leave: 2 x 130 diffs of one
      // join's size, and the sentinel's join (no meta).
      const bound = 2 * (CHURN_BURST + CHURN_RATE * 4) * oneJoin + plain.diff;
      assert.ok(
        member.bytes <= bound,
        `a member received ${member.bytes} B of presence diffs (bound ${bound})`,
      );
      assertRss(f, 32, 24);
    } finally {
      for (const c of clients) c.ws.terminate();
      await sb.stop();
    }
  });

  test('history bytes: 1 MB publications to 15 topics, 10x HISTORY_CACHE_MAX_BYTES, stay under the budgets', async () => {
    // Big publications so that 10x the budget goes through in seconds (the API takes up to MAX_FRAME_BYTES).
    const sb = await startSwitchboard({
      LOG_LEVEL: 'warn',
      MAX_FRAME_BYTES: String(2 * MiB),
      OUTBOUND_QUEUE_MAX_BYTES: String(4 * MiB),
      HISTORY_CACHE_MAX_BYTES: String(BUDGET),
      HISTORY_CACHE_TOPIC_MAX_BYTES: String(4 * MiB),
    });
    const auth = { authorization: `Bearer ${testSecrets.apiToken}` };
    try {
      const filler = 'h'.repeat(SIZE);
      let published = 0;
      const f = await measureRss(
        sb,
        async () => {
          // 3 publishers, until 10x the node budget went through (or 60 s, whichever first).
          const deadline = Date.now() + 60_000;
          await Promise.all(
            [0, 1, 2].map(async (p) => {
              while (published * SIZE < 10 * BUDGET && Date.now() < deadline) {
                const topic = `room:h${(published + p) % 15}`;
                const res = await fetch(`${sb.httpUrl}/api/broadcast`, {
                  method: 'POST',
                  headers: auth,
                  body: JSON.stringify({ topic, event: 'h', payload: { n: published, filler } }),
                });
                assert.equal(res.status, 202);
                published++;
              }
            }),
          );
        },
        // Nothing to release: an accepted publication is in the ring at once.
        () => Promise.resolve(),
        224,
      );
      const cached = await metricValue(sb, 'switchboard_history_cache_bytes');
      const byNode = await metricValue(sb, 'switchboard_history_cache_evicted_total{budget="node_bytes"}');
      const byTopic = await metricValue(sb, 'switchboard_history_cache_evicted_total{budget="topic_bytes"}');
      const line =
        `history ${published} x 1 MB to 15 topics (budgets 4 MiB/topic, 32 MiB/node): cached ${(cached / MiB).toFixed(1)} MiB, ` +
        `evicted ${byTopic} by topic, ${byNode} by node budget; ` +
        rssLine('', f, 320, 224);
      console.log(`# ${line}`);
      assert.ok(published * SIZE >= 10 * BUDGET, `published ${published} (10x the budget)`);
      assert.ok(cached > 0 && cached <= BUDGET, `cached ${cached} bytes`);
      assert.ok(byNode + byTopic > 0, 'publications were evicted by the byte budgets');
      // History stays recoverable: the newest publications of a topic are there, in order.
      const page = (await (
        await fetch(`${sb.httpUrl}/api/topics/room:h1/messages?since=0`, { headers: auth })
      ).json()) as {
        offset: number;
        messages: { offset: number }[];
      };
      assert.ok(page.messages.length > 0 && page.messages.length <= 4, `${page.messages.length} kept`);
      assert.equal(page.messages.at(-1)!.offset, page.offset, 'the newest publication is kept');
      assertRss(f, 320, 224);
    } finally {
      await sb.stop();
    }
  });
});
