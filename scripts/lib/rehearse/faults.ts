// Faults the rehearsal injects while the load runs, each with the objective of
// slo/generated/gate.json it must break.
import { WebSocket } from 'ws';
import { SignJWT } from 'jose';
import { badReleaseFault } from './bad-release.js';
import { brokenRecoveryFault, rollingDrainFault, rolloutBrokenRecoveryFault } from './continuity-faults.js';
import type { Replica } from './replicas.js';
import { quietestPod } from './fault-victim.js';

/** The faults `--fault` accepts. */
export const faultNames = [
  'latency',
  'kill-node',
  'redis-down',
  'slow-consumer',
  'broken-recovery',
  'rolling-drain',
  'rollout-broken-recovery',
  'bad-release',
] as const;
export type FaultName = (typeof faultNames)[number];

/** What the redis-down fault kills and restarts: the standalone Redis, or every Redis Cluster node. */
export interface RedisTarget {
  describe: string;
  kill(): Promise<void>;
  restart(): Promise<void>;
  /** Drops every key on every master (history, sequences, presence); resolves with how many flushed. */
  flush(): Promise<number>;
}

/** What a fault touches. */
export interface FaultContext {
  replicas: Replica[];
  redis: RedisTarget;
  /** http://127.0.0.1:PORT of the Ingress stand-in. */
  ingressUrl: string;
  apiToken: string;
  jwtSecret: string;
  /** How long the fault lasts (pause, outage, back-off). */
  holdMs: number;
  log: (line: string) => void;
  /** A fault played during the deploy's sync ends when this aborts (the sync is done). */
  signal?: AbortSignal;
}

/** What happened, for the summary. */
export interface FaultRecord {
  name: FaultName;
  /** ms since epoch */
  startedAt: number;
  endedAt: number;
  actions: string[];
}

/** A fault and what must catch it. */
export interface Fault {
  name: FaultName;
  description: string;
  /**
   * gate.json objectives that must fail. None: a disturbance the pipeline must ride through (the
   * deploy must promote, every objective passing or not exercised).
   */
  gateObjectives: string[];
  /** The gate must fail these objectives and no other. */
  exclusive?: boolean;
  /**
   * Not injected during the load test: a bad release that staging's gate passes and production's
   * verification after its sync must fail (bad-release.ts); `gateObjectives` are then production's.
   */
  afterPromotion?: boolean;
  /** The load-test scenario it needs (vars.LOADTEST_SCENARIO); default the workflow's. */
  scenario?: string;
  /** Why the objective fails. */
  why: string;
  /** Played while the deploy's sync rolls the pods (from its start until `signal`), not at `timing`'s atMs. */
  duringSync?: boolean;
  /** Different expectations when the load test's VUs reconnect every session (--session). */
  withSessions?: Pick<Fault, 'gateObjectives' | 'why'>;
  /**
   * When the fault starts after the load started, and how long it lasts, given the load's duration
   * and session length (VUs reconnect and rejoin every session; undefined: one session for the run).
   */
  timing(durationMs: number, sessionMs?: number): { atMs: number; holdMs: number };
  inject(ctx: FaultContext): Promise<FaultRecord>;
}

/**
 * At 30 % of the load (inside the second round of sessions, away from its boundaries, when sessions
 * are shorter than the run: VUs of a pod frozen just as their sessions end would be leaving it anyway).
 */
const midSession = (durationMs: number, sessionMs?: number) => ({
  atMs: sessionMs && sessionMs < durationMs / 2 ? Math.round(sessionMs * 1.2) : Math.round(durationMs * 0.3),
  holdMs: Math.min(8000, Math.round((sessionMs ?? durationMs) * 0.6)),
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The replica faults hit: the first one (every pod holds about a third of the sockets). */
function victim(ctx: FaultContext): Replica {
  const r = ctx.replicas[0];
  if (!r) throw new Error('no server pod to inject the fault into');
  return r;
}

const latency: Fault = {
  name: 'latency',
  description:
    'freezes one server pod with clients but no publisher (cgroup freezer / SIGSTOP) for the hold time, then thaws it',
  gateObjectives: ['delivery-latency'],
  why:
    'publications from the other pods pile up in Redis for the frozen pod; when it thaws it writes them with their ' +
    'original publish time, so a third of the deliveries of the hold time are late and p99 passes 250 ms',
  timing: midSession,
  async inject(ctx) {
    const r = await quietestPod(ctx.replicas);
    const startedAt = Date.now();
    await r.pause();
    ctx.log(`froze ${r.name} (${r.where()}) for ${ctx.holdMs} ms`);
    try {
      await sleep(ctx.holdMs);
    } finally {
      await r.resume();
    }
    ctx.log(`thawed ${r.name}`);
    return {
      name: 'latency',
      startedAt,
      endedAt: Date.now(),
      actions: [`froze ${r.name} for ${ctx.holdMs} ms`],
    };
  },
};

/** Kubernetes restarts a killed container after a 10 s back-off (CrashLoopBackOff's first step). */
const restartBackOffMs = 10_000;

const killNode: Fault = {
  name: 'kill-node',
  description: 'SIGKILLs one server pod; it comes back on the same address after the kubelet back-off (10 s)',
  gateObjectives: ['server-availability'],
  why:
    'Prometheus cannot scrape the killed pod until it is back: its up series is 0 for the back-off and the start, ' +
    "so the share of answered scrapes falls under 99.9 %. (The pod cannot count its clients' 1006 closes; the " +
    "load test's phx_errors sees them.)",
  timing: (durationMs, sessionMs) => ({
    atMs: midSession(durationMs, sessionMs).atMs,
    holdMs: restartBackOffMs,
  }),
  async inject(ctx) {
    const r = victim(ctx);
    const startedAt = Date.now();
    await r.kill();
    ctx.log(`SIGKILLed ${r.name}; restarting it after ${restartBackOffMs} ms like the kubelet`);
    await sleep(restartBackOffMs);
    await r.restart();
    ctx.log(`${r.name} is back and ready (${r.where()})`);
    return {
      name: 'kill-node',
      startedAt,
      endedAt: Date.now(),
      actions: [`SIGKILL ${r.name}`, `restarted ${r.name} after ${restartBackOffMs} ms`],
    };
  },
};

const redisDown: Fault = {
  name: 'redis-down',
  description:
    'kills Redis (the broker and history sequencer) for the hold time, then starts it again, empty',
  gateObjectives: ['cross-node-delivery'],
  why:
    'with the Redis sequencer gone, each publish is delivered on its own pod only and counted as a broker ' +
    'publish error, so cross-node-delivery fails; delivery latency stays low and pushes are answered ok',
  withSessions: {
    gateObjectives: ['cross-node-delivery', 'join-success'],
    why:
      'publishes during the outage reach their own pod only (cross-node-delivery), and the outage spans the end ' +
      'of a round of sessions: a room whose last member on a pod left is unsubscribed, ' +
      'and the rejoins on that pod need a broker subscription, which fails with Redis gone',
  },
  // Across the end of the second round of sessions, if there are rounds: rejoins need broker subscriptions.
  timing: (durationMs, sessionMs) => ({
    atMs:
      sessionMs && sessionMs * 2 < durationMs
        ? Math.max(1000, sessionMs * 2 - 4000)
        : Math.round(durationMs * 0.3),
    holdMs: 8000,
  }),
  async inject(ctx) {
    const startedAt = Date.now();
    await ctx.redis.kill();
    ctx.log(`killed ${ctx.redis.describe} for ${ctx.holdMs} ms`);
    try {
      await sleep(ctx.holdMs);
    } finally {
      await ctx.redis.restart();
    }
    ctx.log('Redis is back (empty: no persistence, like a fresh pod)');
    return {
      name: 'redis-down',
      startedAt,
      endedAt: Date.now(),
      actions: [`killed Redis for ${ctx.holdMs} ms`, 'restarted Redis empty'],
    };
  },
};

/** Bytes of one burst message: just under MAX_FRAME_BYTES' default (64 KiB), the API body limit. */
const burstPayloadBytes = 60_000;
/** Upper bound of the burst: more than the kernel buffers plus the 1 MiB outbound queue can hold. */
const maxBurstMessages = 1500;

async function slowConsumerCloses(replicas: Replica[]): Promise<number> {
  let total = 0;
  for (const r of replicas) {
    const text = await fetch(`http://127.0.0.1:${r.metricsPort}/metrics`, {
      signal: AbortSignal.timeout(3000),
    }).then(
      (res) => res.text(),
      () => '',
    );
    const m = /^switchboard_slow_consumer_closes_total (\d+(?:\.\d+)?)/m.exec(text);
    total += m ? Number(m[1]) : 0;
  }
  return total;
}

const slowConsumer: Fault = {
  name: 'slow-consumer',
  description:
    'one client per pod joins a topic and stops reading; a burst of large API broadcasts on that topic fills ' +
    'their queues until the server closes them with 4008',
  gateObjectives: ['slow-consumer-closes'],
  why:
    'the server closes each consumer that stopped reading with 4008 (so the others stay fast): three closes ' +
    'among a few dozen accepted connections are far over 0.1 %',
  timing: midSession,
  async inject(ctx) {
    const startedAt = Date.now();
    const topic = 'room:rehearsal-slow';
    const before = await slowConsumerCloses(ctx.replicas);
    const token = await new SignJWT({ sub: 'rehearsal-slow-consumer', join: [topic], publish: [] })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(ctx.jwtSecret));
    const sockets: WebSocket[] = [];
    try {
      // One consumer per pod: straight to each pod, since the Ingress would pick pods round-robin.
      for (const r of ctx.replicas) {
        const ws = new WebSocket(`ws://127.0.0.1:${r.port}/socket/websocket?vsn=2.0.0&token=${token}`);
        sockets.push(ws);
        const reply = await new Promise<string>((resolve, reject) => {
          ws.once('error', reject);
          ws.once('open', () => {
            ws.send(JSON.stringify(['1', '1', topic, 'phx_join', {}]));
            ws.once('message', (data: Buffer) => resolve(data.toString()));
          });
        });
        if (!reply.includes('"ok"'))
          throw new Error(`slow consumer could not join ${topic} on ${r.name}: ${reply}`);
        // Stop reading: the kernel buffers fill, then the server's outbound queue.
        ws.pause();
      }
      ctx.log(`${sockets.length} consumers joined ${topic} and stopped reading`);
      const body = JSON.stringify({
        topic,
        event: 'burst',
        payload: { fill: 'x'.repeat(burstPayloadBytes) },
      });
      let sent = 0;
      let closes = 0;
      while (sent < maxBurstMessages) {
        await Promise.all(
          Array.from({ length: 20 }, () =>
            fetch(`${ctx.ingressUrl}/api/broadcast`, {
              method: 'POST',
              headers: { authorization: `Bearer ${ctx.apiToken}`, 'content-type': 'application/json' },
              body,
              signal: AbortSignal.timeout(10_000),
            }).then(async (res) => {
              await res.arrayBuffer();
              if (res.status !== 202)
                throw new Error(`POST /api/broadcast through the Ingress answered ${res.status}`);
            }),
          ),
        );
        sent += 20;
        closes = (await slowConsumerCloses(ctx.replicas)) - before;
        if (closes >= sockets.length) break;
      }
      ctx.log(
        `sent ${sent} x ${burstPayloadBytes} B; the server closed ${closes} slow consumer(s) with 4008`,
      );
      await sleep(Math.max(0, ctx.holdMs - (Date.now() - startedAt)));
      return {
        name: 'slow-consumer',
        startedAt,
        endedAt: Date.now(),
        actions: [
          `${sockets.length} consumers stopped reading ${topic}`,
          `${sent} broadcasts of ${burstPayloadBytes} B`,
          `${closes} closed with 4008`,
        ],
      };
    } finally {
      for (const ws of sockets) ws.terminate();
    }
  },
};

/** Every fault by name. */
export const faults: Record<FaultName, Fault> = {
  latency,
  'kill-node': killNode,
  'redis-down': redisDown,
  'slow-consumer': slowConsumer,
  'broken-recovery': brokenRecoveryFault,
  'rolling-drain': rollingDrainFault,
  'rollout-broken-recovery': rolloutBrokenRecoveryFault,
  'bad-release': badReleaseFault,
};

/** Resolves `--fault`; the error lists the choices. */
export function findFault(name: string): Fault {
  if ((faultNames as readonly string[]).includes(name)) return faults[name as FaultName];
  throw new Error(`--fault ${JSON.stringify(name)} is unknown: choose one of ${faultNames.join(', ')}`);
}
