// Rollouts during the load (issue 18 §1): every pod in turn hands all its sockets over, as a rolling
// update's SIGTERM drain does -- 1012 closes with a reconnect hint, paced over the drain window --
// while the rollout scenario's clients count what they lose. The stand-in's pods keep their
// addresses (Prometheus and nginx have fixed targets), so each pod moves its sockets with
// `POST /api/drain` (100 %) and stays up instead of being replaced: a replaced pod's target would
// read as down, which is not what a rolling update does to `up`.
import type { Fault, FaultContext, FaultRecord } from './faults.js';

/** The drain window of each pod: its sockets close in paced batches over it (the pods' default is longer). */
const drainWindowMs = 2000;
/** After a pod's window, its last clients' reconnect hint (at most one batch interval) and rejoin. */
const settleMs = 1500;
/** How often history is lost again while a pod's clients are away (broken-recovery). */
const flushEveryMs = 200;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Moves every socket of `replica` (POST /api/drain on its own address); resolves with how many it closes. */
async function drainAll(ctx: FaultContext, replica: FaultContext['replicas'][number]): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${replica.port}/api/drain`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ctx.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ percent: 100, window_ms: drainWindowMs }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status !== 202)
    throw new Error(`POST /api/drain on ${replica.name} answered ${res.status}: ${text}`);
  return (JSON.parse(text) as { closing: number }).closing;
}

/**
 * Each pod in turn moves all its sockets and waits out its window; with `duringEach`, that runs
 * while the pod's clients are away (and is stopped when they are back).
 */
async function rollingDrain(
  ctx: FaultContext,
  name: Fault['name'],
  duringEach?: (signal: AbortSignal) => Promise<string>,
): Promise<FaultRecord> {
  const startedAt = Date.now();
  const actions: string[] = [];
  for (const r of ctx.replicas) {
    const stop = new AbortController();
    const during = duringEach?.(stop.signal);
    const closing = await drainAll(ctx, r);
    ctx.log(`${r.name}: moving its ${closing} sockets over ${drainWindowMs} ms (1012 + reconnect hint)`);
    await sleep(drainWindowMs + settleMs);
    stop.abort();
    const extra = during ? `; ${await during}` : '';
    actions.push(`${r.name} moved ${closing} sockets${extra}`);
  }
  return { name, startedAt, endedAt: Date.now(), actions };
}

/** Drops Redis's keys every flushEveryMs until `signal`: history and sequences keep vanishing. */
async function loseHistory(ctx: FaultContext, signal: AbortSignal): Promise<string> {
  let flushes = 0;
  while (!signal.aborted) {
    if ((await ctx.redis.flush()) > 0) flushes++;
    await sleep(flushEveryMs);
  }
  return `Redis flushed ${flushes} times`;
}

/** The timing of both: a third into the load, one drain window (and its settling) per pod. */
const timing = (durationMs: number) => ({
  atMs: Math.round(durationMs * 0.3),
  holdMs: 3 * (drainWindowMs + settleMs),
});

export const rollingDrainFault: Fault = {
  name: 'rolling-drain',
  description:
    'a healthy rolling update during the load: every pod in turn moves all its sockets (1012 + reconnect hint); ' +
    'the clients rejoin elsewhere with recovery',
  gateObjectives: [],
  scenario: 'rollout',
  why: 'recovery works: every rejoin gets what it missed from history, so nothing is lost and the deploy promotes',
  timing,
  inject: (ctx) => rollingDrain(ctx, 'rolling-drain'),
};

export const brokenRecoveryFault: Fault = {
  name: 'broken-recovery',
  description:
    'the same rolling update while history is unavailable to recovery: Redis loses every key (history, ' +
    'sequences) every 200 ms while each pod moves its sockets, as repeated failovers to an empty replica would',
  gateObjectives: ['recovery-success', 'messages-lost'],
  exclusive: true,
  scenario: 'rollout',
  why:
    'a rejoin finds the stream under a new epoch, so the server refuses recovery (recovery-success) and the ' +
    "messages published while the client was away never reach it (messages-lost); publishing, joins and the pods' " +
    'health are untouched, so no other objective moves',
  timing,
  inject: (ctx) => rollingDrain(ctx, 'broken-recovery', (signal) => loseHistory(ctx, signal)),
};

export const rolloutBrokenRecoveryFault: Fault = {
  name: 'rollout-broken-recovery',
  description:
    "the deploy's own rolling update while history is unavailable to recovery: Redis loses every key " +
    '(history, sequences) every 200 ms from the start of the sync until it is done',
  gateObjectives: ['recovery-success', 'messages-lost'],
  exclusive: true,
  scenario: 'rollout',
  duringSync: true,
  why:
    "each old pod's clients rejoin a new pod while the stream's epoch keeps changing, so recovery is refused " +
    '(recovery-success) and what was published while they were away never reaches them (messages-lost)',
  timing,
  inject: async (ctx) => {
    const startedAt = Date.now();
    const signal = ctx.signal ?? AbortSignal.timeout(ctx.holdMs);
    const flushed = await loseHistory(ctx, signal);
    return {
      name: 'rollout-broken-recovery',
      startedAt,
      endedAt: Date.now(),
      actions: [`during the sync: ${flushed}`],
    };
  },
};
