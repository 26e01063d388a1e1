/**
 * Turns a BenchResult into the console table and docs/benchmarks.md. Every figure printed is a
 * value of the result (the raw JSON), at most rounded or shown in k/M: the text around the tables
 * carries no number of its own (bench/test/report.test.ts checks it).
 */
import { labelOf, type BenchResult, type WorkloadRun } from './harness.js';
import type { Spread } from './order.js';
import { fmt, type StepResult } from './step.js';
import { STORM_HEAD, STORM_RUN_HEAD, stormRunRows, stormSummaryRows } from './storm-report.js';
import { TARGET_LABELS } from './targets.js';
import { describeWorkload } from './workloads.js';
import { WORKERS_HEAD, workersRows } from './workers-report.js';

function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** "median (min-max)", or "-" without values. */
function range(s: Spread | null, f: (n: number) => string): string {
  if (!s) return '-';
  return s.n > 1 ? `**${f(s.median)}** (${f(s.min)}-${f(s.max)})` : `**${f(s.median)}**`;
}
const us = (n: number) => n.toFixed(2);
const ms = (n: number) => n.toFixed(1);
const pct = (n: number) => `${n.toFixed(0)}%`;

function summaryRows(r: BenchResult, fixed: boolean): string[][] {
  const rows: string[][] = [];
  for (const w of r.settings.workloads.filter((x) => (x.mode === 'fixed') === fixed)) {
    for (const s of r.summary.filter((x) => x.workload === w.name && x.nodes === 1)) {
      const counted = `${s.counted} of ${s.runs}`;
      const common = [w.name, TARGET_LABELS[s.target]];
      if (fixed) rows.push([...common, range(s.cpuUsPerDelivery, us), range(s.p99Ms, ms), counted]);
      else {
        rows.push([
          ...common,
          range(s.ratePerRoom, fmt) + (s.generatorLimited ? ' (generator-limited)' : ''),
          range(s.deliveriesPerSec, fmt),
          range(s.cpuUsPerDelivery, us),
          range(s.p99Ms, ms),
          counted,
        ]);
      }
    }
  }
  return rows;
}

/** The two-node variants: server CPU summed over both nodes, and the shared Redis's apart. */
function twoNodeRows(r: BenchResult): string[][] {
  return r.summary
    .filter((s) => s.nodes === 2)
    .map((s) => [
      s.workload,
      TARGET_LABELS[s.target],
      range(s.cpuUsPerDelivery, us),
      range(s.redisCpuUsPerDelivery, us),
      range(s.p99Ms, ms),
      `${s.counted} of ${s.runs}`,
    ]);
}
const TWO_NODE_HEAD = [
  'Workload',
  'Server',
  'Server CPU-µs per delivery, both nodes',
  'Redis CPU-µs per delivery',
  'p99 ms',
  'Runs counted',
];

function verdict(run: WorkloadRun): string {
  if (run.error) return `error: ${run.error}`;
  const s = run.result;
  if (!s) return `no passing step: ${run.steps.at(-1)?.reason ?? ''}`;
  if (s.generatorSaturated) return `flagged, not counted: ${s.reason}`;
  return s.pass ? 'pass' : `fail: ${s.reason}`;
}

const isStorm = (run: WorkloadRun) => run.workload === 'D';

function runRows(r: BenchResult): string[][] {
  return r.runs
    .filter((run) => !isStorm(run))
    .map((run) => {
      const s = run.result;
      return [
        String(run.run),
        run.workload,
        TARGET_LABELS[run.target],
        s ? fmt(s.ratePerTopic) : '-',
        s ? fmt(s.deliveriesPerSec) : '-',
        s ? us(s.serverCpuUsPerDelivery) : '-',
        s ? `${ms(s.p50Ms)} / ${ms(s.p99Ms)}` : '-',
        s ? s.generatorCpu.map(pct).join(' ') : '-',
        s ? `${s.sample.exact} of ${s.sample.clients}` : '-',
        verdict(run),
      ];
    });
}

function stepRow(s: StepResult): string[] {
  return [
    fmt(s.ratePerTopic),
    fmt(s.deliveriesPerSec),
    `${s.lost} / ${s.duplicates} / ${s.reordered}`,
    `${ms(s.p50Ms)} / ${ms(s.p99Ms)} / ${ms(s.maxMs)}`,
    ms(s.publisherMaxLagMs),
    us(s.serverCpuUsPerDelivery),
    s.serverCpu.map(pct).join(' + ') + (s.redisCpu === undefined ? '' : `, Redis ${pct(s.redisCpu)}`),
    s.generatorCpu.map(pct).join(' '),
    pct(s.foreignCpu),
    s.generatorSaturated ? `flagged: ${s.reason}` : s.pass ? 'pass' : `fail: ${s.reason}`,
  ];
}

function idleRows(r: BenchResult): string[][] {
  return r.idle.flatMap((i) =>
    i.error || !i.points
      ? [[TARGET_LABELS[i.target], '-', '-', `error: ${i.error ?? 'no result'}`, '-']]
      : i.points.map((p) => [
          TARGET_LABELS[i.target],
          `${p.connections.toLocaleString('en')}${p.failed ? ` (${p.failed} failed)` : ''}`,
          `${p.rssGrowthMiB.toFixed(1)} MiB (fresh server ${(i.baselineRssMiB ?? 0).toFixed(1)} MiB)`,
          `**${p.perConnectionKiB.toFixed(2)} KiB**`,
          p.marginalKiB !== undefined ? `${p.marginalKiB.toFixed(2)} KiB` : '-',
        ]),
  );
}

const FIXED_HEAD = ['Workload', 'Server', 'Server CPU-µs per delivery', 'p99 ms', 'Runs counted'];
const SEARCH_HEAD = [
  'Workload',
  'Server',
  'Sustained msg/s',
  'Deliveries/s',
  'CPU-µs per delivery',
  'p99 ms',
  'Runs counted',
];
const RUN_HEAD = [
  'Run',
  'Workload',
  'Server',
  'msg/s per room',
  'Deliveries/s',
  'CPU-µs per delivery',
  'p50 / p99 ms',
  'Generator CPU',
  'Official clients exact',
  'Result',
];
const STEP_HEAD = [
  'msg/s per room',
  'Deliveries/s',
  'Lost / dup / reordered',
  'p50 / p99 / max ms',
  'Publisher lag ms',
  'CPU-µs per delivery',
  'Server CPU',
  'Generator CPU',
  'Other processes',
  'Result',
];
const IDLE_HEAD = ['Server', 'Connections', 'RSS growth', 'RSS per connection', 'Marginal per connection'];

/** Plain-text summary for the terminal. */
export function consoleReport(r: BenchResult): string {
  // Only the tables of workloads that ran (e.g. --workloads D prints D's alone).
  const tables = [
    table(FIXED_HEAD, summaryRows(r, true)),
    table(SEARCH_HEAD, summaryRows(r, false)),
    table(STORM_HEAD, stormSummaryRows(r.stormSummary)),
  ].filter((t) => t.split('\n').length > 2);
  return ['', ...tables.flatMap((t) => [t, ''])].join('\n').replaceAll('**', '');
}

/** Workload D's section: what it does, the summary and every run (empty when D did not run). */
function stormSection(r: BenchResult): string {
  const storms = r.settings.workloads.filter((w) => w.mode === 'storm');
  if (storms.length === 0) return '';
  const t = r.settings.storm;
  return `
## Reconnect storm (a deploy)

${storms.map((w) => `- ${describeWorkload(w)}`).join('\n')}

Publishing lasts ${t.publishMs} ms in all; ${t.preCutMs} ms in, the server closes every subscriber connection at once. Each subscriber reconnects and rejoins at once, with its last position where the
server has recovery. **All back**: the last subscriber joined again. **All recovered**: the last subscriber had
every publication due before it was back, and none of its room's publications of the step was missing, repeated
or out of order (only when every subscriber recovered). **Peak rejoins/s**: the most rejoins completing in one
tenth of a second, times ten. Server CPU is counted from the cut until every subscriber was back. A run counts
when every subscriber came back within ${t.deadlineMs} ms and the generator stayed within its limit; a server without
recovery counts too, with its loss.

${table(STORM_HEAD, stormSummaryRows(r.stormSummary))}

${table(STORM_RUN_HEAD, stormRunRows(r.runs.filter(isStorm)))}
`;
}

/** Switchboard with workers against one process (empty unless both ran a workload and counted). */
function workersSection(r: BenchResult): string {
  const rows = workersRows(r.workersCost);
  if (rows.length === 0) return '';
  return `
## Spreading a node over worker processes

Switchboard started with \`WORKERS\` (a node:cluster primary holding the broker, presence and history, and
workers sharing the port; docs/operations.md) against one process, pinned to the same server CPUs at the same
offered load. Server CPU is the whole process tree's. Ratio: the workers' median CPU-µs per delivery over the
single process's; above 1 is what spreading costs (IPC to the primary and back, a second event loop).

${table(WORKERS_HEAD, rows)}
`;
}

function orderLines(r: BenchResult): string {
  return r.orders
    .map(
      (o) =>
        `- run ${o.run}, workload ${o.workload}${o.nodes === 2 ? ', two nodes + Redis' : ''}: ${o.targets.map((t) => TARGET_LABELS[t]).join(', ')}`,
    )
    .join('\n');
}

function stepsSection(r: BenchResult): string {
  return r.runs
    .filter((run) => !isStorm(run))
    .map((run: WorkloadRun) =>
      [
        `**Run ${run.run}, workload ${run.workload}, ${labelOf(run.target, run.nodes)}** (${run.subscribers.toLocaleString('en')} subscribers, connected in ${run.connectMs} ms)`,
        '',
        table(STEP_HEAD, run.steps.map(stepRow)),
        '',
      ].join('\n'),
    )
    .join('\n');
}

function cpuLine(r: BenchResult): string {
  const c = r.cpus;
  return c.pinned
    ? `Servers ran on CPU ${c.server} and the load generator on CPU ${c.generator} (\`taskset\`).`
    : `**Not pinned**: servers and load generator shared CPUs ${c.server}, so each took CPU from the other. Not a fair run.`;
}

/** Where the subscribers connect from, for the Method section. */
function sourcesText(n: number | undefined): string {
  if (!n) return 'every client comes from one address';
  return n === 1
    ? 'the subscribers come from one address'
    : `the subscribers come from ${n} loopback addresses in turn`;
}

/** How workload D cuts and recovers on each server (Method bullets; no figures). */
const stormMethod = (
  several: boolean,
): string => `- Reconnect storm (D), the cut on each server. Switchboard: \`POST /api/drain\` of every connection
  over a window of zero, so every WebSocket is closed (code service restart) in one batch while the node stays up with its
  history, as one pod of a rolling deploy whose clients come back to a pod that shares the history (Redis in
  production); its subscribers join with \`recover\` and their last position (docs/recovery.md), and its
  publishers publish through \`POST /api/broadcast\`, as a backend does, which a drain does not close.
  Socket.IO: connection state recovery turned on (only for this workload), and the server closes each
  subscriber's connection (the engine's close, a reason its recovery covers); its sessions live in the
  process, which survives the cut: Socket.IO's best case, since a restarted process loses them and
  \`@socket.io/redis-adapter\` does not keep sessions at all. Plain and tuned \`ws\`: the server closes every
  subscriber with the same close code (\`POST /drain\`, bench/baselines/drain.ts); they have no recovery, so their clients
  reconnect and rejoin and what they missed is counted as lost. The baselines' publishers stay connected.
  From a single source address${several ? '' : ', as here,'} the generator's \`connect()\` spent most of its CPU after the cut looking
  for a free port (the cut connections' TIME_WAIT 4-tuples to the one server port)${several ? ', hence the several addresses (`--source-addresses`)' : ''}. Lean subscribers reconnect at once, without backoff; the official clients reconnect their own way (\`phoenix\`
  with Switchboard's recovery helper, \`socket.io-client\` with its reconnection delay, \`ws\` reopened by the
  application) and are checked like every other step.
`;

/** docs/benchmarks.md */
export function markdownReport(r: BenchResult, command: string, jsonFile?: string): string {
  const m = r.machine;
  const s = r.settings;
  const v = s.versions;
  return `# Benchmarks

Generated by \`${command}\` on ${r.startedAt.slice(0, 10)} (${r.durationS} s). Do not edit by hand: run the
command again.${jsonFile ? ` Every figure here is in the raw results, [${jsonFile}](${jsonFile}).` : ''}
How it measures is under [Method](#method).

## Machine

| CPU | Cores | Memory | Kernel | Node.js | Open files per process | Load average (start, end) | CPU pressure (start, end) |
|---|---|---|---|---|---|---|---|
| ${m.cpuModel} | ${m.cores} | ${m.memoryGiB} GiB | ${m.kernel} | ${m.node} | ${m.openFilesLimit} | ${m.loadAverage.start.toFixed(2)}, ${m.loadAverage.end.toFixed(2)} | ${m.cpuPressure.start ?? 'n/a'}%, ${m.cpuPressure.end ?? 'n/a'}% |

${cpuLine(r)} CPU pressure is Linux PSI \`some avg60\`: the share of the last minute in which a runnable task
waited for a CPU. Well above zero at the start means other work was running and the figures are not to be trusted.

## Fixed load: server CPU per delivery

${s.workloads
  .filter((w) => w.mode === 'fixed')
  .map((w) => `- ${describeWorkload(w)}`)
  .join('\n')}

Server CPU time (user + system, every thread) from the first publication until the last delivery arrived,
divided by the deliveries. Median of the counted runs, range in brackets.

${table(FIXED_HEAD, summaryRows(r, true))}

${
  r.summary.some((x) => x.nodes === 2)
    ? `
## Fixed load on two nodes sharing one Redis

The same workloads on two server processes of each server that can fan out across nodes (Switchboard with its
Redis broker, Socket.IO with \`@socket.io/redis-adapter\`), sharing one \`redis-server\`; both nodes and Redis
are pinned to the server CPUs. Subscribers alternate between the nodes, the publishers are on the first node,
the official clients on the second. Server CPU is summed over both node processes; Redis's CPU is read from
its own process and given apart, per delivery as well.

${table(TWO_NODE_HEAD, twoNodeRows(r))}
`
    : ''
}
## Highest sustained rate

${s.workloads
  .filter((w) => w.mode === 'search')
  .map((w) => `- ${describeWorkload(w)}`)
  .join('\n')}

${table(SEARCH_HEAD, summaryRows(r, false))}

${workersSection(r)}${stormSection(r)}
## Every run

Servers ran in this order (seed ${s.seed}):

${orderLines(r)}

${table(RUN_HEAD, runRows(r))}
${
  r.idle.length
    ? `
## Idle connections: server memory

Each connection is open and joined to its own topic/room, then idle (protocol keep-alives only). RSS is
read from \`/proc/<pid>/status\` after a forced full GC. Per connection = (RSS - RSS of the fresh server) /
connections; marginal = RSS growth since the previous count / connections added.

${table(IDLE_HEAD, idleRows(r))}
`
    : ''
}
## Method

- Servers under test: Switchboard ${v.switchboard}; Socket.IO ${v['socket.io']} with only the websocket
  transport; a plain \`ws\` ${v.ws} rooms server (one \`send\` per subscriber); a tuned \`ws\` reference that
  frames each message once and writes each socket's frames of one event-loop turn in one write (the
  design's limit on this runtime). Each is in \`bench/baselines/\` with a line saying what it is. Every
  server is a fresh process per workload and run, on loopback, pinned with \`taskset\` to its own CPUs;
  the load generator, its orchestrator and everything else the benchmark starts are pinned to the others.
- Load generator (\`bench/loadgen/\`): ${s.shards} subscriber processes holding lean clients (a raw TCP
  socket each, just enough WebSocket and protocol, no parsing beyond the stamp), one publisher process
  (one connection per room) and one sampler process with ${s.samplers} official clients (\`phoenix\`
  ${v.phoenix} for Switchboard, \`socket.io-client\` ${v['socket.io-client']} for Socket.IO, \`ws\` for the
  \`ws\` servers). The CPU of each is measured per step: a step in which one of them, or the generator
  CPUs on average, went above ${s.generatorCpuMax}% of a core is flagged and not counted, because the
  generator rather than the server may have been the limit.
- Switchboard runs${s.workers ? ` with \`WORKERS=${s.workers}\` (its worker processes' CPU and memory are counted with the node's) and` : ''} with its defaults except \`LOG_LEVEL=warn\`, the per-connection publish rate limit and
  the connection caps lifted (one publisher connection per room sends all its room's publications, and
  ${sourcesText(s.sourceAddresses)}) and \`PRESENCE_TOPICS=room:*\`: the benchmark's \`feed:\` rooms are
  broadcast-only, without presence. The \`ws\` baselines close a subscriber that falls too far behind
  with the slow-consumer close code, as Switchboard does; a step in which the server closed anyone fails,
  and the harness reopens them before the next one.
- Every publication carries its step, its sequence number in its room, and the time it was due (start +
  i / rate), plus ${s.bodyBytes} bytes of filler. Every subscriber checks its room's sequence: a step passes
  only when no subscriber lost a publication, got one twice or out of order, the official clients got exactly
  the same publications in order, p99 latency is within the bound and no connection was closed. Latency
  runs from the due time, not from when the publication left, so a publisher that falls behind counts
  against the step; up to ${s.samplesPerSecond.toLocaleString('en')} deliveries per second are sampled into an hdr-histogram.
- Each workload starts with an unreported warm-up step of ${s.warmupMs} ms at its rate; a measured step
  publishes for ${s.stepMs} ms and then waits (bounded) for the stragglers. The rate search starts at the
  workload's rate, doubles while steps pass, then bisects until the failing rate is within a ratio of
  ${s.precision} of the passing one (at most ${s.maxSteps} steps).
${s.workloads.some((w) => w.mode === 'storm') ? stormMethod((s.sourceAddresses ?? 0) > 1) : ''}- Runs: ${s.runs}. In each run and workload the servers run in an order drawn from seed ${s.seed} (listed
  above). Summary tables give the median of the counted runs and the range.

## Running it

- On a quiet machine (nothing else running: the load average and CPU pressure above say how quiet it was),
  \`npm run bench\` rewrites this file and the raw results; \`npm run bench -- --quick\` is a smoke run at a
  tenth of the connections that writes nothing; \`npm run bench -- --help\` lists the flags.
- One piece alone, written elsewhere so this file keeps the last quiet run: e.g. the reconnect storm
  \`npm run bench -- --workloads D --targets switchboard,socketio --runs 1 --out /tmp/d.md --json /tmp/d.json\`,
  or only the two-node variants \`npm run bench -- --workloads A,B --variants two-node --no-idle --out ...\`.
- Profiling: \`npm run bench -- --targets switchboard --workloads C --cpu-prof /tmp/prof\`, then
  \`node --import tsx bench/profile-summary.ts /tmp/prof/CPU.*.cpuprofile\` lists the functions with the most
  self time (generator profiles land in \`/tmp/prof/generators/\`).

## Every step

<details><summary>Steps per run, workload and server</summary>

${stepsSection(r)}
</details>
`;
}
