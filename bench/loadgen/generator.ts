/**
 * Load-generator process (started by the orchestrator, driven over JSON lines on stdin/stdout; see
 * messages.ts). One program, three uses, one per process so each can be pinned and measured on its own:
 *
 * - a subscriber shard holds lean subscriber connections. Every delivery's stamp is read: its
 *   sequence number goes to the subscriber's SequenceTracker (loss, duplicates, reordering) and, for
 *   a random sample, intended-send-to-receive latency goes to an hdr-histogram;
 * - the publisher holds one connection per topic and sends each topic's publications on a fixed
 *   schedule (start + i / rate), stamping each with when it was due;
 * - the sampler holds a few official clients (official-clients.ts).
 *
 * Processes share the wall clock (performance.timeOrigin + now, µs), so latency is measured across them.
 */
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import * as hdr from 'hdr-histogram-js';
import { nowUs, open, protocolOf } from './connect.js';
import type { LeanSocket } from './lean-socket.js';
import { OfficialClient } from './official-clients.js';
import { readStamp } from './payload.js';
import { addPublishers, closePublishers, publish, publishers } from './publisher.js';
import { type DeliverySink, type Endpoint, type Protocol, type ResumeState } from './protocols.js';
import { SequenceTracker } from './sequence.js';
import { newStormMark, noteStormDelivery, stormShardReport, type StormMark } from './storm.js';
import type {
  Command,
  ConnectResult,
  Counts,
  RecordReport,
  Request,
  Response,
  SampleReport,
  StormCounts,
  SubscribeCommand,
  SubscriberProblem,
} from './messages.js';

const MAX_LATENCY_US = 600_000_000;
const MAX_PROBLEMS = 5;

function newHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: MAX_LATENCY_US,
    numberOfSignificantValueDigits: 3,
  });
}

interface Slot {
  index: number;
  topic: string;
  sock: LeanSocket | null;
  endpoint: Endpoint;
  proto: Protocol;
  tracker: SequenceTracker;
  /** Set when the subscriber opted in to recovery (endpoint.recover). */
  resume?: ResumeState;
  storm: StormMark;
  /** Request target, made once (a Phoenix token is signed per subscriber, not per reconnect). */
  path?: string;
}

const state = {
  subscribers: [] as Slot[],
  samplers: [] as OfficialClient[],
  step: -1,
  received: 0,
  other: 0,
  stale: 0,
  unstamped: 0,
  closedCodes: new Map<string, number>(),
  closedTotal: new Map<string, number>(),
  sampleProbability: 1,
  hist: newHistogram(),
  /** Workload D: reconnect what the server closes until this time (performance.now() ms); 0 = off. */
  stormUntil: 0,
  stormErrors: new Map<string, number>(),
};

function sinkFor(slot: Slot): DeliverySink {
  return {
    delivery(b, s, e) {
      const stamp = readStamp(b, s, e);
      if (!stamp) {
        state.unstamped++;
        return;
      }
      if (stamp.step !== state.step) {
        state.stale++;
        return;
      }
      state.received++;
      slot.tracker.see(stamp.seq);
      if (slot.storm.cutAtUs > 0) noteStormDelivery(slot.storm, stamp.intendedUs, nowUs());
      if (state.sampleProbability < 1 && Math.random() >= state.sampleProbability) return;
      state.hist.recordValue(Math.min(MAX_LATENCY_US, Math.max(1, nowUs() - stamp.intendedUs)));
    },
    other() {
      state.other++;
    },
  };
}

const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

async function openSubscriber(slot: Slot, localAddress?: string): Promise<LeanSocket> {
  slot.path ??= await slot.proto.path(slot.index, 'subscriber');
  return open(
    slot.endpoint,
    slot.proto,
    'subscriber',
    slot.index,
    sinkFor(slot),
    (code) => {
      bump(state.closedCodes, String(code));
      bump(state.closedTotal, String(code));
      if (performance.now() < state.stormUntil) {
        slot.storm.cutAtUs ||= nowUs();
        void rejoin(slot, localAddress);
      }
    },
    localAddress,
    slot.resume,
    slot.path,
  );
}

/** Workload D: reconnects and rejoins a subscriber the server closed, at once, retrying until the deadline. */
async function rejoin(slot: Slot, localAddress?: string): Promise<void> {
  for (;;) {
    slot.storm.attempts++;
    try {
      slot.sock = await openSubscriber(slot, localAddress);
      slot.storm.backAtUs = nowUs();
      return;
    } catch (err) {
      if (performance.now() >= state.stormUntil) {
        bump(state.stormErrors, (err as Error).message);
        return;
      }
      bump(state.stormErrors, `retried: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    }
  }
}

function stormCounts(): StormCounts {
  let cut = 0;
  let back = 0;
  for (const s of state.subscribers) {
    if (s.storm.cutAtUs === 0) continue;
    cut++;
    if (s.storm.backAtUs > 0 && s.sock?.state === 'ready') back++;
  }
  return { cut, back };
}

async function subscribe(c: SubscribeCommand): Promise<ConnectResult> {
  if (c.topics.length === 0) throw new Error('subscribe.topics must name at least one topic');
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
      const topic = c.topicPerConnection ? `${c.topics[0]}-${index}` : c.topics[index % c.topics.length]!;
      const node = c.nodes?.[index % c.nodes.length];
      const endpoint = { ...c.endpoint, ...node, topic };
      const slot: Slot = {
        index,
        topic,
        sock: null,
        endpoint,
        proto: protocolOf(endpoint),
        tracker: new SequenceTracker(),
        resume: endpoint.recover ? { recovered: null } : undefined,
        storm: newStormMark(),
      };
      const local = c.localAddresses.length ? c.localAddresses[index % c.localAddresses.length] : undefined;
      try {
        slot.sock = await openSubscriber(slot, local);
        state.subscribers.push(slot);
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
  const dead = state.subscribers.filter((s) => s.sock?.state === 'closed');
  const errors: string[] = [];
  let connected = 0;
  for (let i = 0; i < dead.length; i += 200) {
    await Promise.all(
      dead.slice(i, i + 200).map(async (slot) => {
        try {
          slot.sock = await openSubscriber(slot);
          connected++;
        } catch (err) {
          if (errors.length < 5) errors.push((err as Error).message);
        }
      }),
    );
  }
  return { connected, failed: dead.length - connected, errors, ms: Math.round(performance.now() - started) };
}

function counts(): Counts {
  let ready = 0;
  for (const s of state.subscribers) if (s.sock?.state === 'ready') ready++;
  return {
    received: state.received,
    other: state.other,
    ready,
    closedCodes: Object.fromEntries(state.closedCodes),
    closedTotal: Object.fromEntries(state.closedTotal),
  };
}

function report(published: number): RecordReport {
  const r = {
    lost: 0,
    duplicates: 0,
    reordered: 0,
    subscribersWithLoss: 0,
    subscribersWithDuplicates: 0,
    subscribersReordered: 0,
  };
  const problems: SubscriberProblem[] = [];
  for (const s of state.subscribers) {
    const v = s.tracker.verdict(published);
    r.lost += v.lost;
    r.duplicates += v.duplicates;
    r.reordered += v.reordered;
    if (v.lost) r.subscribersWithLoss++;
    if (v.duplicates) r.subscribersWithDuplicates++;
    if (v.reordered) r.subscribersReordered++;
    if ((v.lost || v.duplicates || v.reordered) && problems.length < MAX_PROBLEMS) {
      problems.push({
        index: s.index,
        topic: s.topic,
        lost: v.lost,
        duplicates: v.duplicates,
        reordered: v.reordered,
      });
    }
  }
  return {
    ...counts(),
    ...r,
    subscribers: state.subscribers.length,
    stale: state.stale,
    unstamped: state.unstamped,
    problems,
    histogram: hdr.encodeIntoCompressedBase64(state.hist),
    samples: state.hist.totalCount,
  };
}

function sampleReport(published: number): SampleReport {
  const problems = state.samplers.map((c) => c.problem(published)).filter((p): p is string => p !== null);
  return { clients: state.samplers.length, exact: state.samplers.length - problems.length, problems };
}

async function handle(c: Command): Promise<unknown> {
  switch (c.cmd) {
    case 'subscribe':
      return subscribe(c);
    case 'publishers':
      await addPublishers(c);
      return { ok: true };
    case 'samplers':
      for (let i = 0; i < c.count; i++) {
        const topic = c.topics[i % c.topics.length]!;
        state.samplers.push(await OfficialClient.open({ ...c.endpoint, topic }, i));
      }
      return { ok: true };
    case 'record':
      state.step = c.step;
      state.received = 0;
      state.other = 0;
      state.stale = 0;
      state.unstamped = 0;
      state.closedCodes = new Map();
      state.hist = newHistogram();
      state.sampleProbability = Math.min(1, Math.max(0, c.sampleProbability));
      for (const s of state.subscribers) s.tracker = new SequenceTracker();
      for (const s of state.samplers) s.reset(c.step);
      return { ok: true };
    case 'publish':
      return publish(c);
    case 'counts':
      return counts();
    case 'report':
      return report(c.published);
    case 'sample-report':
      return sampleReport(c.published);
    case 'top-up':
      return topUp();
    case 'storm-arm':
      state.stormUntil = performance.now() + c.deadlineMs;
      state.stormErrors = new Map();
      for (const s of state.subscribers) s.storm = newStormMark();
      return { ok: true };
    case 'storm-counts':
      return stormCounts();
    case 'storm-report':
      state.stormUntil = 0;
      return stormShardReport(
        state.subscribers.map((s) => ({
          mark: s.storm,
          verdict: s.tracker.verdict(c.published),
          recovered: s.resume?.recovered ?? null,
        })),
        state.stormErrors,
      );
    case 'close':
      for (const s of state.subscribers) s.sock?.close();
      closePublishers();
      for (const s of state.samplers) s.close();
      state.subscribers = [];
      state.samplers = [];
      return { ok: true };
  }
}

// Application heartbeats (Phoenix): each connection every `heartbeatMs`, spread over one-second ticks
// so the server sees a steady trickle, as with real clients, not a burst.
const HEARTBEAT_TICKS = 25; // Phoenix clients send one every 25 s
let heartbeatTick = 0;
setInterval(() => {
  const socks = [
    ...state.subscribers.map((s) => ({ sock: s.sock, proto: s.proto })),
    ...publishers.map((p) => ({ sock: p.sock, proto: p.proto })),
  ];
  for (let i = heartbeatTick % HEARTBEAT_TICKS; i < socks.length; i += HEARTBEAT_TICKS) {
    const { sock, proto } = socks[i]!;
    if (sock?.state === 'ready' && proto.heartbeat) proto.heartbeat(sock);
  }
  heartbeatTick++;
}, 1000).unref();

// The channel: one Request per line on stdin, one Response per line on stdout (messages.ts). stdout
// is the protocol's alone: whatever a library would log there goes to stderr instead.
console.log = console.info = console.debug = console.error;
function reply(res: Response): void {
  process.stdout.write(`${JSON.stringify(res)}\n`);
}
createInterface({ input: process.stdin, crlfDelay: Infinity })
  .on('line', (line) => {
    if (line.trim() === '') return;
    const req = JSON.parse(line) as Request;
    handle(req.command).then(
      (result) => reply({ id: req.id, ok: true, result }),
      (err: Error) => reply({ id: req.id, ok: false, error: err.message }),
    );
  })
  // The orchestrator owns this process: when it closes our stdin (or goes away), so do we.
  .on('close', () => process.exit(0));
