/** Turns a BenchResult into the targets verdict, a console table and docs/benchmarks.md. */
import { fmt, type StepResult } from './fanout.js';
import type { BenchResult, FanoutResult } from './harness.js';
import { TARGET_LABELS, type TargetName } from './targets.js';

export interface TargetCheck {
  name: string;
  /** Switchboard's value, formatted. */
  measured: string;
  threshold: string;
  /** null when a needed measurement is missing. */
  pass: boolean | null;
}

const KIB = 1024;

function fanout(
  r: BenchResult,
  target: TargetName,
  scenario: string,
  subs: number,
): FanoutResult | undefined {
  return r.fanout.find((f) => f.target === target && f.scenario === scenario && f.subscribers === subs);
}

/** The issue's targets: deliveries/s vs Socket.IO (5x at 1,000 subscribers, 3x at 10,000), idle RSS <= 8 KiB. */
export function evaluateTargets(r: BenchResult): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const scenario of ['fanout', 'redis'] as const) {
    for (const [subs, factor] of [
      [1_000, 5],
      [10_000, 3],
    ] as const) {
      const sb = fanout(r, 'switchboard', scenario, subs);
      const sio = fanout(r, 'socketio', scenario, subs);
      if (!sb && !sio) continue;
      const a = sb?.best?.deliveriesPerSec;
      const b = sio?.best?.deliveriesPerSec;
      checks.push({
        name: `deliveries/s, ${subs.toLocaleString('en')} subscribers, ${scenario === 'redis' ? 'two nodes via Redis' : 'one node'}`,
        measured:
          a !== undefined && b ? `${fmt(a)} = ${(a / b).toFixed(1)}x Socket.IO (${fmt(b)})` : 'missing',
        threshold: `>= ${factor}x Socket.IO`,
        pass: a !== undefined && b ? a >= factor * b : null,
      });
    }
  }
  const idle = r.idle.find((i) => i.target === 'switchboard');
  for (const p of idle?.points ?? []) {
    checks.push({
      name: `RSS per idle connection at ${p.connections.toLocaleString('en')}`,
      measured: `${(p.perConnectionBytes / KIB).toFixed(2)} KiB`,
      threshold: '<= 8 KiB',
      pass: p.failed === 0 ? p.perConnectionBytes <= 8 * KIB : null,
    });
  }
  return checks;
}

const verdict = (p: boolean | null) => (p === null ? 'n/a' : p ? 'PASS' : 'FAIL');
const ms = (v: number) => v.toFixed(1);
const pct = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(1)}%`);
const cpu = (s: StepResult) => s.serverCpu.map((c) => `${c.toFixed(0)}%`).join(' + ');

function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function fanoutRows(r: BenchResult): string[][] {
  const rows: string[][] = [];
  for (const scenario of ['fanout', 'redis'] as const) {
    for (const subs of r.settings.subscriberCounts) {
      for (const f of r.fanout.filter((x) => x.scenario === scenario && x.subscribers === subs)) {
        const b = f.best;
        rows.push([
          scenario === 'redis' ? 'two nodes, Redis' : 'one node',
          subs.toLocaleString('en'),
          `${f.boundMs} ms`,
          TARGET_LABELS[f.target],
          b ? `**${fmt(b.deliveriesPerSec)}**` : f.error ? `error: ${f.error}` : 'no passing rate',
          b ? fmt(b.rate) : '-',
          b ? ms(b.p50Ms) : '-',
          b ? ms(b.p99Ms) : '-',
          b ? cpu(b) : '-',
          b ? `${b.generatorCpu.toFixed(0)}%` : '-',
        ]);
      }
    }
  }
  return rows;
}

function idleRows(r: BenchResult): string[][] {
  return r.idle.flatMap((i) =>
    i.error || !i.points
      ? [[TARGET_LABELS[i.target], '-', '-', `error: ${i.error ?? 'no result'}`, '-']]
      : i.points.map((p) => [
          TARGET_LABELS[i.target],
          `${p.connections.toLocaleString('en')}${p.failed ? ` (${p.failed} failed)` : ''}`,
          `${((p.rssBytes - (i.baselineRssBytes ?? 0)) / 2 ** 20).toFixed(1)} MiB (baseline ${((i.baselineRssBytes ?? 0) / 2 ** 20).toFixed(1)} MiB)`,
          `**${(p.perConnectionBytes / KIB).toFixed(2)} KiB**`,
          p.marginalBytes ? `${(p.marginalBytes / KIB).toFixed(2)} KiB` : '-',
        ]),
  );
}

const FANOUT_HEAD = [
  'Scenario',
  'Subscribers',
  'p99 bound',
  'Server',
  'Deliveries/s',
  'Publish msg/s',
  'p50 ms',
  'p99 ms',
  'Server CPU',
  'Generator CPU',
];
const IDLE_HEAD = ['Server', 'Connections', 'RSS growth', 'RSS per connection', 'Marginal per connection'];
const TARGET_HEAD = ['Target', 'Switchboard', 'Threshold', 'Result'];

/** Plain-text summary for the terminal. */
export function consoleReport(r: BenchResult): string {
  const checks = evaluateTargets(r);
  return [
    '',
    table(FANOUT_HEAD, fanoutRows(r)),
    '',
    table(IDLE_HEAD, idleRows(r)),
    '',
    table(
      TARGET_HEAD,
      checks.map((c) => [c.name, c.measured, c.threshold, verdict(c.pass)]),
    ),
    '',
  ]
    .join('\n')
    .replaceAll('**', '');
}

/** docs/benchmarks.md */
export function markdownReport(r: BenchResult, command: string): string {
  const m = r.machine;
  const checks = evaluateTargets(r);
  const steps = r.fanout
    .map((f) => {
      const lines = f.steps.map(
        (s) =>
          `| ${fmt(s.rate)} | ${fmt(s.deliveriesPerSec)} | ${ms(s.p50Ms)} | ${ms(s.p99Ms)} | ${cpu(s)} | ${s.generatorCpu.toFixed(0)}% | ${s.foreignCpu.toFixed(0)}% | ${s.pass ? 'pass' : `fail: ${s.reason}`}${s.noisy ? ' (busy machine: repeated)' : ''} |`,
      );
      return [
        `**${TARGET_LABELS[f.target]}, ${f.scenario === 'redis' ? 'two nodes via Redis' : 'one node'}, ${f.subscribers.toLocaleString('en')} subscribers**`,
        '',
        '| Publish msg/s | Deliveries/s | p50 ms | p99 ms | Server CPU | Generator CPU | Other processes CPU | Result |',
        '|---|---|---|---|---|---|---|---|',
        ...lines,
        '',
      ].join('\n');
    })
    .join('\n');
  return `# Benchmarks

Generated by \`${command}\` on ${r.startedAt.slice(0, 10)} (${r.durationS} s). Do not edit by hand: run the
command again. Method and caveats are at the end.

## Machine

| CPU | Cores | Memory | Kernel | Node.js | Open files per process | Load average (start, end) | CPU pressure (start, end) |
|---|---|---|---|---|---|---|---|
| ${m.cpuModel} | ${m.cores} | ${m.memoryGiB} GiB | ${m.kernel} | ${m.node} | ${m.openFilesLimit} | ${m.loadAverage.start.toFixed(2)}, ${m.loadAverage.end.toFixed(2)} | ${pct(m.cpuPressure.start)}, ${pct(m.cpuPressure.end)} |

CPU pressure is Linux PSI \`some avg60\`: the share of the last minute in which a runnable task waited for a
CPU. Near 0% at the start means the machine was otherwise idle; the run itself raises it.

## Targets

${table(
  TARGET_HEAD,
  checks.map((c) => [c.name, c.measured, c.threshold, `**${verdict(c.pass)}**`]),
)}

## One topic: deliveries per second

Highest publish rate whose p99 publish-to-receive latency stays under the bound with every message
delivered to every subscriber; deliveries/s = messages received per second across all subscribers.
Server CPU is % of one core, subscriber node first (+ publisher node in the two-node scenario).

${table(FANOUT_HEAD, fanoutRows(r))}

## Idle connections: server memory

Each connection is open and joined to its own topic/room (like a per-user topic), then idle (protocol
keep-alives only). RSS is read from \`/proc/<pid>/status\` after a forced full GC. Per connection (the
target's measure, as the issue defines it) = (RSS - RSS of the fresh server) / connections, so one-time
costs (JIT code, lazily loaded modules, the young generation growing) are included and weigh more at
10,000 than at 19,000. Marginal = RSS growth since the previous count / connections added.

${table(IDLE_HEAD, idleRows(r))}

## Method

- Everything runs on this machine over loopback, in separate processes: each server (started with
  \`--expose-gc\`), Redis, and the load generator (\`bench/loadgen/\`). The load generator opens one raw TCP
  socket per simulated client and speaks just enough WebSocket (\`bench/loadgen/lean-socket.ts\`) plus
  the protocol (Phoenix V2 JSON, Engine.IO 4/Socket.IO 5, or raw): it counts frames by their header and
  reads a timestamp only from sampled frames, so it is not the bottleneck a full client per connection
  would be. Its CPU is reported; near 100% would mean the harness, not the server, was the limit.
- One publisher connection (on the subscribers' node, or on a second node of the same server joined by
  Redis) sends ${r.settings.bodyBytes}-byte messages stamped with the send time in µs; receivers record
  publish-to-receive latency of up to ~100,000 sampled deliveries per second in an hdr-histogram.
- Rate search: start at ${r.settings.startDeliveries.toLocaleString('en')} deliveries/s (at 10,000 subscribers: half the best at 1,000),
  double while a step passes, then bisect until the failing and passing rates are within
  ${Math.round((r.settings.precision - 1) * 100)}% (at most ${r.settings.maxSteps} steps of ${r.settings.stepMs / 1000} s after a 1 s warm-up).
  A step passes when p99 <= the bound, >= 99.9% of the expected deliveries arrive, no subscriber is
  disconnected and the publisher reaches 90% of the asked rate. A step that fails while processes outside
  the benchmark used more than ${r.settings.noisyForeignCpu}% of a core (from \`/proc/stat\` minus the benchmark's own
  processes) is repeated once the machine is quieter; both attempts are listed below.
- Baselines (\`bench/baselines/\`): a raw \`ws\` server doing one \`send\` per subscriber (Redis pub/sub
  between nodes), and Socket.IO ${'4'} with the default in-memory adapter on one node and
  \`@socket.io/redis-adapter\` on two. Switchboard runs with its defaults except \`LOG_LEVEL=warn\`, the
  per-connection publish rate limit lifted (one publisher sends thousands of messages per second) and
  \`PRESENCE_TOPICS=room:*\`: the fan-out topic \`feed:bench\` is a broadcast-only room without presence
  (with presence each of 10,000 joiners would get the whole member list), the idle connections' own
  \`room:idle-N\` topics keep it.
- Switchboard and the baselines are measured in the same run, one after another, on a shared 2-core
  machine: compare the rows with each other rather than with other machines. At 10,000 subscribers one
  fan-out pass takes a large share of the latency bound, so those rows move between runs (seen here:
  Socket.IO one node 10.5k-42k, Switchboard 167k-336k deliveries/s); re-run before reading much into one.
- When a step overloads Switchboard, subscribers and the publisher that fall more than
  \`OUTBOUND_QUEUE_MAX_BYTES\` behind are closed with 4008 (the slow-consumer protection); the harness
  reopens them before the next step and logs it.

## Running it

- \`npm run bench\` runs everything (about 10 minutes) and rewrites this file; \`npm run bench -- --quick\` is a
  one-minute-per-server smoke run that only prints; \`npm run bench -- --help\` lists the flags (targets,
  scenarios, counts, step length).
- Profiling: \`npm run bench -- --targets switchboard --scenarios fanout --cpu-prof /tmp/prof\`, then
  \`node --import tsx bench/profile-summary.ts /tmp/prof/CPU.*.cpuprofile\` lists the functions with the most
  self time (generator profiles land in \`/tmp/prof/generators/\`).
- Quiet machine wanted: the load average above says how busy it was. Every process the run starts
  (servers, Redis, load generators) is stopped at the end, also on failure.

## Every step

<details><summary>Rate-search steps per scenario</summary>

${steps}
</details>
`;
}
