// The continuity objectives at the gate (issue 18 §1): the rollout scenario runs against a real
// server whose every socket is drained mid-run (POST /api/drain, 1012 + reconnect hint), and writes
// its summary JSON; the gate judges recovery-success from a real Prometheus and messages-lost /
// reconnect-p99 from that summary. A healthy server recovers every rejoin and loses nothing; one
// whose recovery is broken (HISTORY_RECOVERY_MAX=0: any missed message is "too many") fails on the
// continuity objectives and on nothing else.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runScenario } from '../../../loadtests/src/runner.js';
import type { LoadSummary } from '../../../loadtests/lib/summary.js';
import {
  startPrometheus,
  startSwitchboard,
  testSecrets,
  type PrometheusServer,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { parseSummaryTables, runAction, type ActionInputs } from '../../../pipeline/src/testing/index.js';
import { readGateFile } from '../src/gate-file.js';
import { judgeLoadTestObjective, parseSummaryMetrics } from '../src/load-test.js';
import { run } from '../src/main.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'slo-gate-continuity-'));
const SCRAPE_SECONDS = 0.5;
const HEALTHY = 'namespace="healthy"';
const BROKEN = 'namespace="broken"';

let healthy: SwitchboardProcess;
let broken: SwitchboardProcess;
let prometheus: PrometheusServer;

before(async () => {
  [healthy, broken] = await Promise.all([
    startSwitchboard({ LOG_LEVEL: 'warn' }),
    startSwitchboard({ LOG_LEVEL: 'warn', HISTORY_RECOVERY_MAX: '0' }),
  ]);
  prometheus = await startPrometheus({
    scrapeTargets: [],
    labelledTargets: [
      { targets: [`127.0.0.1:${healthy.metricsPort}`], labels: { namespace: 'healthy' } },
      { targets: [`127.0.0.1:${broken.metricsPort}`], labels: { namespace: 'broken' } },
    ],
    scrapeIntervalMs: SCRAPE_SECONDS * 1000,
  });
  await prometheus.scrapedAfter(Date.now(), 2);
});

after(async () => {
  await prometheus?.stop();
  await Promise.all([healthy?.stop(), broken?.stop()]);
});

/** Polls until `check` holds (the VUs joined, messages flow). */
async function waitFor(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The sum of a counter's series that carry `label` (e.g. result="ok"), read from the pod's /metrics. */
async function counter(server: SwitchboardProcess, name: string, label: string): Promise<number> {
  const text = await (await fetch(`${server.metricsUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(label))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const VUS = 30;
const ROOMS = 3;

/**
 * The rollout scenario for 8 s; once every VU joined and messages flow, every socket of the server
 * is drained (a pod's sockets moved, as a rolling update does). Writes the summary to `file`.
 */
async function rolloutWithDrain(
  server: SwitchboardProcess,
  file: string,
): Promise<{ summary: LoadSummary; started: string; ended: string }> {
  const joins = () => counter(server, 'switchboard_joins_total', 'result="ok"');
  const publishes = () => counter(server, 'switchboard_publishes_total', 'source="client"');
  const [joinsBefore, publishesBefore] = [await joins(), await publishes()];
  const drained = (async () => {
    await waitFor(
      'every VU to join and the publishers to publish',
      async () => (await joins()) - joinsBefore >= VUS && (await publishes()) - publishesBefore >= 3 * ROOMS,
    );
    const res = await fetch(`${server.httpUrl}/api/drain`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testSecrets.apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ percent: 100, window_ms: 2000 }),
    });
    assert.equal(res.status, 202, await res.text());
  })();
  drained.catch(() => {});
  const started = new Date().toISOString();
  const summary = await runScenario({
    scenario: 'rollout',
    url: server.socketUrl,
    jwtSecret: testSecrets.jwtSecret,
    vus: VUS,
    duration: '8s',
    summaryPath: file,
    env: {
      ROOMS: String(ROOMS),
      PUBLISH_INTERVAL: '100ms',
      DRAIN: '2s',
      GRACEFUL_STOP: '10s',
      HEARTBEAT: '5s',
    },
  });
  const ended = new Date().toISOString();
  await drained;
  return { summary, started, ended };
}

function gate(inputs: ActionInputs) {
  return runAction(run, {
    inputs: {
      'prometheus-url': prometheus.url,
      'scrape-interval-seconds': SCRAPE_SECONDS,
      'settle-seconds': 1,
      ...inputs,
    },
    env: { GITHUB_WORKSPACE: repo },
  });
}

/** The gate over one load run's span, its summary given. */
const gateOverRun = (selector: string, run: { started: string; ended: string }, file: string) =>
  gate({ selector, 'start-time': run.started, 'end-time': run.ended, 'summary-path': file });

type Judged = { name: string; verdict: string; value: number | null; reason: string };
const byName = (outputs: Record<string, string>) =>
  new Map((JSON.parse(outputs.objectives ?? '[]') as Judged[]).map((o) => [o.name, o]));

describe('continuity objectives judged from a real rollout run', { timeout: 300_000 }, () => {
  it('a drained server with recovery: recovery-success, messages-lost and reconnect-p99 pass; the gate passes', async () => {
    const file = join(tmp, 'healthy.json');
    const run = await rolloutWithDrain(healthy, file);
    assert.equal(run.summary.metrics.continuity_messages_lost?.values.count, 0);
    const result = await gateOverRun(HEALTHY, run, file);
    const judged = byName(result.outputs);
    assert.equal(result.outputs.verdict, 'pass', `${result.errors.join('\n')}\n${result.log}`);
    assert.equal(judged.get('recovery-success')?.verdict, 'pass');
    assert.equal(judged.get('recovery-success')?.value, 1);
    assert.deepEqual([judged.get('messages-lost')?.verdict, judged.get('messages-lost')?.value], ['pass', 0]);
    assert.equal(judged.get('reconnect-p99')?.verdict, 'pass');
    assert.ok((judged.get('reconnect-p99')?.value ?? 0) > 0, 'the clients reconnected');
    const rows = parseSummaryTables(result.summary)[1]!;
    const lost = rows.find((r) => r[0] === 'messages-lost')!;
    assert.deepEqual(lost.slice(1, 5), [
      'continuity_messages_lost count (load-test summary)',
      '0',
      '<= 0',
      'pass',
    ]);
    console.log(
      `healthy drain: lost ${judged.get('messages-lost')?.value}, reconnect p99 ` +
        `${judged.get('reconnect-p99')?.value?.toFixed(0)} ms, recovery-success ${judged.get('recovery-success')?.value}`,
    );
  });

  it('a drained server whose recovery is broken fails recovery-success and messages-lost, and nothing else', async () => {
    const file = join(tmp, 'broken.json');
    const run = await rolloutWithDrain(broken, file);
    assert.ok((run.summary.metrics.continuity_messages_lost?.values.count ?? 0) > 0);
    const result = await gateOverRun(BROKEN, run, file);
    assert.equal(result.failed, true);
    assert.equal(result.outputs.verdict, 'fail');
    const judged = byName(result.outputs);
    const unmet = [...judged.values()].filter((o) => o.verdict === 'fail' || o.verdict === 'inconclusive');
    assert.deepEqual(unmet.map((o) => [o.name, o.verdict]).sort(), [
      ['messages-lost', 'fail'],
      ['recovery-success', 'fail'],
    ]);
    assert.match(result.errors[0] ?? '', /messages-lost fail \(\d+ is not <= 0\)/);
    console.log(
      `broken recovery: lost ${judged.get('messages-lost')?.value}, recovery-success ${judged.get('recovery-success')?.value?.toFixed(3)}`,
    );
  });

  it('without reconnects: recovery-success and reconnect-p99 are not exercised, and the gate still passes', async () => {
    const file = join(tmp, 'quiet.json');
    const started = new Date().toISOString();
    const summary = await runScenario({
      scenario: 'rollout',
      url: healthy.socketUrl,
      jwtSecret: testSecrets.jwtSecret,
      vus: 6,
      duration: '4s',
      summaryPath: file,
      env: { ROOMS: '2', PUBLISH_INTERVAL: '100ms', DRAIN: '1s', GRACEFUL_STOP: '5s' },
    });
    const ended = new Date().toISOString();
    assert.equal(summary.metrics.continuity_reconnect_time?.values.count, 0);
    const result = await gateOverRun(HEALTHY, { started, ended }, file);
    const judged = byName(result.outputs);
    assert.equal(result.outputs.verdict, 'pass', `${result.errors.join('\n')}\n${result.log}`);
    assert.equal(judged.get('recovery-success')?.verdict, 'not-exercised');
    assert.match(judged.get('recovery-success')?.reason ?? '', /none of its events/);
    assert.equal(judged.get('reconnect-p99')?.verdict, 'not-exercised');
    assert.equal(judged.get('messages-lost')?.verdict, 'pass');
    const rows = parseSummaryTables(result.summary)[1]!;
    assert.equal(rows.find((r) => r[0] === 'reconnect-p99')?.[4], 'not exercised');
  });

  it('a summary without the continuity counts (another scenario) is inconclusive on messages-lost', () => {
    const gateFile = readGateFile(join(repo, 'slo/generated/gate.json'));
    const quiet = parseSummaryMetrics(JSON.parse(readFileSync(join(tmp, 'quiet.json'), 'utf8')));
    quiet.delete('continuity_messages_lost');
    quiet.delete('continuity_reconnect_time');
    const [lost, reconnect] = gateFile.loadTestObjectives.map((o) => judgeLoadTestObjective(o, quiet));
    assert.equal(lost?.verdict, 'inconclusive');
    assert.match(lost?.reason ?? '', /the summary has no continuity_messages_lost/);
    assert.equal(reconnect?.verdict, 'not-exercised');
  });

  it('without summary-path the load-test objectives are not judged, and the job summary says so', async () => {
    const result = await gate({ selector: HEALTHY, window: '30s' });
    const judged = byName(result.outputs);
    assert.equal(judged.has('messages-lost'), false);
    assert.match(result.summary, /none given: messages-lost, reconnect-p99 not judged/);
    assert.ok(
      result.warnings.some((w) => /no summary-path/.test(w)),
      result.warnings.join('\n'),
    );
  });

  it('a summary-path that is not a load-test summary fails the step before any query', async () => {
    const file = join(tmp, 'not-a-summary.json');
    writeFileSync(file, '{"metrics": {}}');
    const result = await gate({ selector: HEALTHY, window: '30s', 'summary-path': file });
    assert.equal(result.failed, true);
    assert.equal(result.outputs.verdict, 'inconclusive');
    assert.match(result.errors[0] ?? '', /is not a load-test summary/);
  });
});
