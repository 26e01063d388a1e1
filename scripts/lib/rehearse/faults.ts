// Faults the rehearsal injects while the load runs, each with the objective of
// slo/generated/gate.json it must break -- or, where no objective of gate.json can see it, the
// objective we propose (evaluated with the same slo-gate code, shown apart, deciding nothing).
import { WebSocket } from 'ws';
import { SignJWT } from 'jose';
import type { GateObjective } from '../../../actions/slo-gate/src/gate-file.js';
import type { RedisServer } from '../../../testkit/src/index.js';
import type { Replica } from './replicas.js';

/** The faults `--fault` accepts. */
export const faultNames = ['latency', 'kill-node', 'redis-down', 'slow-consumer'] as const;
export type FaultName = (typeof faultNames)[number];

/** What a fault touches. */
export interface FaultContext {
  replicas: Replica[];
  redis: RedisServer;
  /** http://127.0.0.1:PORT of the Ingress stand-in. */
  ingressUrl: string;
  apiToken: string;
  jwtSecret: string;
  /** How long the fault lasts (pause, outage, back-off). */
  holdMs: number;
  log: (line: string) => void;
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
  /** gate.json objectives that must fail; empty when gate.json cannot see this fault. */
  gateObjectives: string[];
  /** Load-test (client-side) metrics whose thresholds we expect to fail too. */
  loadMetrics: string[];
  /** Why the objective fails (or why none can see it). */
  why: string;
  /** An objective gate.json lacks that would catch the fault (a proposal for slo/objectives.yaml). */
  proposal?: GateObjective;
  /** Different expectations when the load test's VUs reconnect every session (--session). */
  withSessions?: Pick<Fault, 'gateObjectives' | 'loadMetrics' | 'why'>;
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
  description: 'freezes one server pod (cgroup freezer / SIGSTOP) for the hold time, then thaws it',
  gateObjectives: ['delivery-latency'],
  loadMetrics: ['phx_delivery_latency'],
  why:
    'publications from the other pods pile up in Redis for the frozen pod; when it thaws it writes them with their ' +
    'original publish time, so a third of the deliveries of the hold time are late and p99 passes 250 ms',
  timing: midSession,
  async inject(ctx) {
    const r = victim(ctx);
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
  gateObjectives: [],
  loadMetrics: ['phx_errors'],
  why:
    'the killed pod cannot count its own abnormal closes (1006), its clients ' +
    'reconnect through the Ingress to the other pods and are accepted, and its counters simply end. The load ' +
    "test's phx_errors sees the 1006 closes and the lost pushes",
  proposal: {
    name: 'server-restarts (proposed)',
    description:
      'Server processes that restarted during the window (a crash, an OOM kill): process_start_time_seconds changes. ' +
      'New pods of a rollout are new series and do not count.',
    query: 'sum(changes(process_start_time_seconds{job="switchboard"}[$window])) or vector(0)',
    comparator: '<=',
    limit: 0,
    unit: 'ratio',
  },
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
  gateObjectives: [],
  loadMetrics: [],
  why:
    'publishes fall back to local delivery at once when the Redis sequencer is gone, so delivery latency stays ' +
    'low and pushes are answered ok; the cross-pod deliveries they lose are counted by no objective, and with ' +
    "deploy.yml's load test (one session per VU for the whole test) nobody joins during the outage",
  withSessions: {
    gateObjectives: ['join-success'],
    loadMetrics: ['phx_join_success'],
    why:
      'the outage spans the end of a round of sessions: a room whose last member on a pod left is unsubscribed, ' +
      'and the rejoins on that pod need a broker subscription, which fails with Redis gone',
  },
  proposal: {
    name: 'broker-errors (proposed)',
    description: 'Publications the broker or the history sequencer failed, out of all publications.',
    query:
      '(sum(rate(switchboard_broker_errors_total{op="publish"}[$window])) or vector(0)) / (sum(rate(switchboard_publishes_total[$window])) > 0)',
    comparator: '<=',
    limit: 0.001,
    unit: 'ratio',
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
    ctx.log(`killed Redis (${ctx.redis.url}) for ${ctx.holdMs} ms`);
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
    const text = await fetch(`http://127.0.0.1:${r.port}/metrics`, {
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
  gateObjectives: [],
  loadMetrics: [],
  why:
    'by design: closing a consumer that stopped reading (4008) protects the ' +
    'others, delivery latency is measured when the server writes (so others stay fast), and server-errors counts ' +
    '1011 only. Whether many 4008s should block a promotion is a product decision',
  proposal: {
    name: 'slow-consumer-closes (proposed)',
    description: 'Connections closed because they fell behind (4008), out of accepted connections.',
    query:
      '(sum(rate(switchboard_slow_consumer_closes_total[$window])) or vector(0)) / (sum(rate(switchboard_connections_opened_total{result="accepted"}[$window])) > 0)',
    comparator: '<=',
    limit: 0.001,
    unit: 'ratio',
  },
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
};

/** Resolves `--fault`; the error lists the choices. */
export function findFault(name: string): Fault {
  if ((faultNames as readonly string[]).includes(name)) return faults[name as FaultName];
  throw new Error(`--fault ${JSON.stringify(name)} is unknown: choose one of ${faultNames.join(', ')}`);
}
