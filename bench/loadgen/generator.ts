/**
 * Load-generator process (forked by the orchestrator, driven over IPC; see messages.ts).
 *
 * Holds lean subscriber connections and, on one generator, the publisher. Every delivery is
 * counted; a random sample of them (probability set per step) has its publish-to-receive latency
 * recorded in an hdr-histogram from the `"sent_us":<µs since epoch>` stamp the publisher wrote.
 * Publisher and receivers share the wall clock, so latency is exact within a process.
 */
import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import { LeanSocket } from './lean-socket.js';
import { protocolFor, type DeliverySink, type Endpoint, type Protocol, type Role } from './protocols.js';
import type {
  Command,
  ConnectCommand,
  ConnectResult,
  Counts,
  PublishCommand,
  PublishResult,
  RecordReport,
  Request,
  Response,
} from './messages.js';

const SENT_KEY = Buffer.from('"sent_us":');
const MAX_LATENCY_US = 600_000_000;
const SETUP_TIMEOUT_MS = 30_000;

/** Wall clock in µs since the epoch, sub-millisecond and monotonic within the process. */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

function newHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: MAX_LATENCY_US,
    numberOfSignificantValueDigits: 3,
  });
}

interface Slot {
  index: number;
  sock: LeanSocket;
  endpoint: Endpoint;
  proto: Protocol;
}

const state = {
  endpoint: null as Endpoint | null,
  protocol: null as Protocol | null,
  subscribers: [] as Slot[],
  publisher: null as LeanSocket | null,
  publisherEndpoint: null as Endpoint | null,
  /** Close code of the publisher's last close by the server, until the next publish reports it. */
  publisherClosed: null as number | null,
  received: 0,
  other: 0,
  closedCodes: {} as Record<string, number>,
  closedTotal: {} as Record<string, number>,
  recording: false,
  sampleProbability: 1,
  hist: newHistogram(),
  cpuAtRecord: process.cpuUsage(),
  wallAtRecord: performance.now(),
};

const sink: DeliverySink = {
  delivery(b, s, e) {
    state.received++;
    if (!state.recording || Math.random() >= state.sampleProbability) return;
    const at = b.indexOf(SENT_KEY, s);
    if (at < 0 || at >= e) return;
    let sent = 0;
    for (let i = at + SENT_KEY.length; i < e; i++) {
      const d = b[i]! - 48;
      if (d < 0 || d > 9) break;
      sent = sent * 10 + d;
    }
    state.hist.recordValue(Math.min(MAX_LATENCY_US, Math.max(1, nowUs() - sent)));
  },
  other() {
    state.other++;
  },
};

function useEndpoint(ep: Endpoint): Protocol {
  if (!state.protocol || JSON.stringify(state.endpoint) !== JSON.stringify(ep)) {
    state.endpoint = ep;
    state.protocol = protocolFor(ep);
  }
  return state.protocol;
}

async function open(
  ep: Endpoint,
  proto: Protocol,
  role: Role,
  index: number,
  localAddress?: string,
): Promise<LeanSocket> {
  const path = await proto.path(index);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => sock.fail(new Error(`setup took over ${SETUP_TIMEOUT_MS} ms`)),
      SETUP_TIMEOUT_MS,
    );
    const sock: LeanSocket = new LeanSocket({
      host: ep.host,
      port: ep.port,
      path,
      localAddress,
      handler: proto.handler(role, sink),
      onSettled(err) {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(sock);
      },
      onClosed(_s, code) {
        if (role === 'publisher') state.publisherClosed = code;
        if (role !== 'subscriber') return;
        state.closedCodes[code] = (state.closedCodes[code] ?? 0) + 1;
        state.closedTotal[code] = (state.closedTotal[code] ?? 0) + 1;
      },
    });
  });
}

async function connect(c: ConnectCommand): Promise<ConnectResult> {
  const proto = useEndpoint(c.endpoint);
  const started = performance.now();
  const errors = new Map<string, number>();
  let next = 0;
  let connected = 0;
  const deadline = started + c.deadlineMs;
  const worker = async () => {
    while (next < c.count) {
      if (performance.now() > deadline) {
        const msg = `not opened: connecting took over ${c.deadlineMs} ms`;
        errors.set(msg, (errors.get(msg) ?? 0) + c.count - next);
        next = c.count;
        break;
      }
      const index = c.firstIndex + next++;
      const local = c.localAddresses.length ? c.localAddresses[index % c.localAddresses.length] : undefined;
      const endpoint = c.topicPerConnection
        ? { ...c.endpoint, topic: `${c.endpoint.topic}-${index}` }
        : c.endpoint;
      const own = c.topicPerConnection ? protocolFor(endpoint) : proto;
      try {
        const sock = await open(endpoint, own, 'subscriber', index, local);
        state.subscribers.push({ index, sock, endpoint, proto: own });
        connected++;
      } catch (err) {
        const msg = (err as Error).message;
        errors.set(msg, (errors.get(msg) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(c.concurrency, c.count)) }, worker));
  return {
    connected,
    failed: c.count - connected,
    errors: [...errors].slice(0, 5).map(([m, n]) => `${n} x ${m}`),
    ms: Math.round(performance.now() - started),
  };
}

/** Reopens subscribers the server closed (e.g. as slow consumers during an overload step). */
async function topUp(): Promise<ConnectResult> {
  const started = performance.now();
  const dead = state.subscribers.filter((s) => s.sock.state === 'closed');
  if (dead.length === 0) return { connected: 0, failed: 0, errors: [], ms: 0 };
  const errors: string[] = [];
  let connected = 0;
  for (let i = 0; i < dead.length; i += 200) {
    await Promise.all(
      dead.slice(i, i + 200).map(async (slot) => {
        try {
          slot.sock = await open(slot.endpoint, slot.proto, 'subscriber', slot.index);
          connected++;
        } catch (err) {
          if (errors.length < 5) errors.push((err as Error).message);
        }
      }),
    );
  }
  return { connected, failed: dead.length - connected, errors, ms: Math.round(performance.now() - started) };
}

/** The publisher, reopened when the server closed it (an overloaded step can): publishing into a closed socket measures nothing. */
async function readyPublisher(): Promise<{ pub: LeanSocket; reopenedAfter?: number }> {
  const ep = state.publisherEndpoint;
  const proto = state.protocol;
  if (!state.publisher || !ep || !proto)
    throw new Error('publish before publisher: send the publisher command first');
  if (state.publisher.state === 'ready') return { pub: state.publisher };
  const code = state.publisherClosed ?? 0;
  state.publisherClosed = null;
  state.publisher = await open(ep, proto, 'publisher', 1_000_000);
  return { pub: state.publisher, reopenedAfter: code };
}

async function publish(c: PublishCommand): Promise<PublishResult> {
  const { pub, reopenedAfter } = await readyPublisher();
  const proto = state.protocol!;
  if (!(c.rate > 0) || !(c.durationMs > 0))
    throw new Error('publish.rate and publish.durationMs must be > 0');
  const body = 'x'.repeat(c.bodyBytes);
  const total = Math.max(1, Math.round((c.rate * c.durationMs) / 1000));
  const t0 = performance.now();
  let sent = 0;
  let startUs = 0;
  let endUs = 0;
  let maxBacklog = 0;
  return new Promise((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - t0;
      const due = Math.min(total, Math.floor((c.rate * elapsed) / 1000) + 1);
      if (due > sent) {
        pub.corked(() => {
          for (; sent < due; sent++) {
            const t = nowUs();
            if (sent === 0) startUs = t;
            endUs = t;
            pub.sendText(proto.publish(pub, `{"sent_us":${t},"body":"${body}"}`));
          }
        });
        maxBacklog = Math.max(maxBacklog, pub.writeBacklog);
      }
      if (sent >= total) resolve({ sent, startUs, endUs, maxBacklog, reopenedAfter });
      else setTimeout(tick, 1);
    };
    tick();
  });
}

function counts(): Counts {
  let ready = 0;
  for (const s of state.subscribers) if (s.sock.state === 'ready') ready++;
  return {
    received: state.received,
    other: state.other,
    ready,
    closedCodes: { ...state.closedCodes },
    closedTotal: { ...state.closedTotal },
  };
}

function report(): RecordReport {
  const cpu = process.cpuUsage(state.cpuAtRecord);
  const wallMs = performance.now() - state.wallAtRecord;
  state.recording = false;
  return {
    ...counts(),
    histogram: hdr.encodeIntoCompressedBase64(state.hist),
    samples: state.hist.totalCount,
    cpuPercent: wallMs > 0 ? ((cpu.user + cpu.system) / 1000 / wallMs) * 100 : 0,
  };
}

async function handle(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'connect':
      return connect(c);
    case 'publisher': {
      const proto = useEndpoint(c.endpoint);
      state.publisher = await open(c.endpoint, proto, 'publisher', 1_000_000);
      state.publisherEndpoint = c.endpoint;
      return { ok: true };
    }
    case 'record':
      state.received = 0;
      state.other = 0;
      state.closedCodes = {};
      state.hist = newHistogram();
      state.sampleProbability = Math.min(1, Math.max(0, c.sampleProbability));
      state.recording = true;
      state.cpuAtRecord = process.cpuUsage();
      state.wallAtRecord = performance.now();
      return { ok: true };
    case 'publish':
      return publish(c);
    case 'counts':
      return counts();
    case 'report':
      return report();
    case 'top-up':
      return topUp();
    case 'close':
      for (const s of state.subscribers) s.sock.close();
      state.publisher?.close();
      state.subscribers = [];
      state.publisher = null;
      return { ok: true };
  }
}

// Application heartbeats (Phoenix): each connection every `heartbeatMs`, spread over one-second ticks
// so the server sees a steady trickle, as with real clients, not a burst.
let heartbeatTick = 0;
setInterval(() => {
  const proto = state.protocol;
  if (!proto?.heartbeat || !proto.heartbeatMs) return;
  const buckets = Math.max(1, Math.floor(proto.heartbeatMs / 1000));
  const bucket = heartbeatTick++ % buckets;
  for (let i = bucket; i < state.subscribers.length; i += buckets) {
    const s = state.subscribers[i]!.sock;
    if (s.state === 'ready') proto.heartbeat(s);
  }
  if (bucket === 0 && state.publisher?.state === 'ready') proto.heartbeat(state.publisher);
}, 1000).unref();

process.on('message', (req: Request) => {
  handle(req.command).then(
    (result) => process.send?.({ id: req.id, ok: true, result } satisfies Response),
    (err: Error) => process.send?.({ id: req.id, ok: false, error: err.message } satisfies Response),
  );
});
// The orchestrator owns this process: when it goes away, so do we.
process.on('disconnect', () => process.exit(0));
