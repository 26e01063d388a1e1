import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, beforeEach, describe, it } from 'node:test';
import { runScenario } from '../../../loadtests/src/runner.js';
import {
  startPrometheus,
  startSwitchboard,
  testSecrets,
  type PrometheusServer,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { parseSummaryTables, runAction, type ActionInputs } from '../../../pipeline/src/testing/index.js';
import { run } from '../src/main.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const gateFile = join(repo, 'slo/generated/gate.json');
const tmp = mkdtempSync(join(tmpdir(), 'slo-gate-test-'));

// Two environments in one Prometheus, as in a cluster where the Prometheus Operator labels every
// target with its namespace: `server` is staging, `production` is another environment's server.
const STAGING = 'namespace="switchboard-staging"';
const PRODUCTION = 'namespace="switchboard-production"';

const SCRAPE_SECONDS = 0.5;

let server: SwitchboardProcess;
let production: SwitchboardProcess;
let prometheus: PrometheusServer;

before(async () => {
  [server, production] = await Promise.all([
    startSwitchboard({ LOG_LEVEL: 'warn' }),
    startSwitchboard({ LOG_LEVEL: 'warn' }),
  ]);
  prometheus = await startPrometheus({
    scrapeTargets: [],
    labelledTargets: [
      { targets: [`127.0.0.1:${server.metricsPort}`], labels: { namespace: 'switchboard-staging' } },
      { targets: [`127.0.0.1:${production.metricsPort}`], labels: { namespace: 'switchboard-production' } },
    ],
    scrapeIntervalMs: SCRAPE_SECONDS * 1000,
  });
  // Wait for the first scrapes, so "no traffic" means no traffic rather than no target.
  for (let i = 0; ; i++) {
    const up = await prometheus.query('up{job="switchboard"} == 1');
    if (up.length === 2) break;
    if (i > 200) throw new Error(`Prometheus never scraped the server:\n${prometheus.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  await prometheus?.stop();
  await Promise.all([server?.stop(), production?.stop()]);
});

function gate(inputs: ActionInputs) {
  return runAction(run, {
    inputs: {
      'prometheus-url': prometheus.url,
      'poll-interval-seconds': 0.5,
      'scrape-interval-seconds': SCRAPE_SECONDS,
      selector: STAGING,
      ...inputs,
    },
    env: { GITHUB_WORKSPACE: repo },
  });
}

/** Per-objective verdicts from the `objectives` JSON output. */
function verdicts(outputs: Record<string, string>): Record<string, string> {
  const list = JSON.parse(outputs.objectives ?? '[]') as { name: string; verdict: string }[];
  return Object.fromEntries(list.map((o) => [o.name, o.verdict]));
}

/**
 * A short, gentle load with valid tokens that meets every objective: fan-out for delivery latency, and a
 * connect storm so connections and joins keep happening across several scrapes (a single burst of
 * connects inside one scrape interval can read as a rate of 0/0 on a fresh server).
 */
async function goodLoad(duration = '5s', target = server) {
  const options = { url: target.socketUrl, jwtSecret: testSecrets.jwtSecret, duration };
  const [fanout, storm] = await Promise.all([
    runScenario({
      ...options,
      scenario: 'fanout',
      vus: 4,
      env: { ROOMS: '2', PUBLISHERS: '1', PUBLISH_INTERVAL: '100ms', GRACEFUL_STOP: '3s' },
    }),
    runScenario({
      ...options,
      scenario: 'connect-storm',
      vus: 2,
      env: { ROOMS: '2', HOLD: '200ms', GRACEFUL_STOP: '3s' },
    }),
  ]);
  return { ok: fanout.ok && storm.ok, thresholds: [...fanout.thresholds, ...storm.thresholds] };
}

describe('slo-gate against a real Prometheus scraping a real server', () => {
  // A gate over a load's span reaches two scrapes before its start: the previous test's load must be
  // scraped twice before the next one starts, or its tail is judged with the next load.
  beforeEach(() => prometheus.scrapedAfter(Date.now(), 2));

  it('is inconclusive with no traffic (every ratio is 0/0, the quantile NaN) and fails the step', async () => {
    const result = await gate({ window: '30s' });
    assert.equal(result.failed, true);
    assert.equal(result.outputs.verdict, 'inconclusive');
    assert.deepEqual(verdicts(result.outputs), {
      'ws-connect-success': 'inconclusive',
      'join-success': 'inconclusive',
      'delivery-latency': 'inconclusive',
      'server-errors': 'inconclusive',
      // Scrapes happen without traffic: the server answered every one.
      'server-availability': 'pass',
      'cross-node-delivery': 'inconclusive',
      'slow-consumer-closes': 'inconclusive',
      // Optional: its counters exist (exported at 0) and did not move: nobody had to recover.
      'recovery-success': 'not-exercised',
    });
    assert.match(result.errors[0] ?? '', /SLO gate inconclusive: ws-connect-success inconclusive \(no data/);
    const [overview, objectives] = parseSummaryTables(result.summary);
    assert.deepEqual(overview?.[1], ['Verdict', 'inconclusive']);
    assert.deepEqual(objectives?.[0], ['Objective', 'Query', 'Value', 'Limit', 'Verdict', 'Detail']);
    assert.equal(objectives?.length, 9);
  });

  it('passes after a short load that meets every objective, soaking and substituting $window', async () => {
    const load = await goodLoad();
    assert.equal(load.ok, true, JSON.stringify(load.thresholds));
    const result = await gate({ 'soak-seconds': 2, window: '60s' });
    assert.equal(result.failed, false, `${result.errors.join('\n')}\n${result.log}`);
    assert.equal(result.outputs.verdict, 'pass');
    assert.equal(result.outputs.window, '60s');
    const objectives = JSON.parse(result.outputs.objectives!) as {
      name: string;
      value: number;
      query: string;
      verdict: string;
    }[];
    assert.equal(objectives.length, 8);
    for (const o of objectives) {
      // No client of this load rejoined with recovery: not exercised, and the gate passes.
      assert.equal(
        o.verdict,
        o.name === 'recovery-success' ? 'not-exercised' : 'pass',
        `${o.name}: ${o.value}`,
      );
      assert.ok(!o.query.includes('$window') && o.query.includes('[60s]'), o.query);
    }
    assert.equal(objectives.find((o) => o.name === 'ws-connect-success')?.value, 1);
    assert.equal(objectives.find((o) => o.name === 'join-success')?.value, 1);
    assert.match(result.log, /soak [\d.]+s\/2s: ws-connect-success=1 \(pass\)/, 'interim polls are logged');
    const rows = parseSummaryTables(result.summary)[1]!;
    const joinRow = rows.find((r) => r[0] === 'join-success')!;
    assert.deepEqual([joinRow[2], joinRow[3], joinRow[4]], ['1', '>= 0.999', 'pass']);
    assert.match(
      joinRow[1]!,
      /switchboard_joins_total\{result="ok",namespace="switchboard-staging"\}\[60s\]/,
    );
  });

  /** Joins the server refuses (the tokens permit other topics): a fault join-success must see. */
  const refusedJoins = (target: SwitchboardProcess, duration = '3s') =>
    runScenario({
      scenario: 'presence-churn',
      url: target.socketUrl,
      jwtSecret: testSecrets.jwtSecret,
      tokenTopics: ['elsewhere:*'],
      vus: 4,
      duration,
      env: { ROOMS: '1', HOLD: '100ms', CYCLES: '2', GRACEFUL_STOP: '2s', TIMEOUT: '2s' },
    });

  it('judges each environment on its own series: a fault in one neither fails nor passes the other', async () => {
    const started = new Date().toISOString();
    const [fault, good] = await Promise.all([refusedJoins(production), goodLoad('3s')]);
    const ended = new Date().toISOString();
    assert.equal(fault.ok, false);
    assert.equal(good.ok, true);
    const times = { 'start-time': started, 'end-time': ended, 'settle-seconds': 1 };
    const staging = await gate(times);
    assert.equal(staging.outputs.verdict, 'pass', `${staging.errors.join('\n')}\n${staging.log}`);
    const prod = await gate({ ...times, selector: PRODUCTION });
    assert.equal(prod.outputs.verdict, 'fail');
    assert.equal(verdicts(prod.outputs)['join-success'], 'fail');
    for (const o of JSON.parse(staging.outputs.objectives!) as { query: string }[]) {
      assert.ok(!o.query.includes('$selector') && o.query.includes(STAGING), o.query);
    }
    // Unscoped, as before the selector existed: staging is failed by production's fault.
    const both = await gate({ ...times, selector: 'job="switchboard"' });
    assert.equal(verdicts(both.outputs)['join-success'], 'fail');
  });

  it("evaluates at the load test's end over its span and two scrapes before, not over the minutes before the job ran", async () => {
    const started = new Date().toISOString();
    const good = await goodLoad('3s');
    const ended = new Date().toISOString();
    assert.equal(good.ok, true);
    // What happens after the load test (here: another fault load, as a runner queue delay would let
    // pass) is outside the test's window and must not decide its gate.
    const after = await refusedJoins(server, '4s');
    assert.equal(after.ok, false);
    const anchored = await gate({ 'start-time': started, 'end-time': ended, 'settle-seconds': 1 });
    assert.equal(anchored.outputs.verdict, 'pass', `${anchored.errors.join('\n')}\n${anchored.log}`);
    assert.equal(anchored.outputs['evaluated-at'], ended);
    // The span plus two scrapes before it, so counters have a sample from before the load's first events.
    const seconds = Math.ceil((Date.parse(ended) - Date.parse(started)) / 1000 + 2 * SCRAPE_SECONDS);
    assert.equal(anchored.outputs.window, `${seconds}s`);
    // The same window length at "now" (the old gate) lands on the later fault instead.
    const shifted = await gate({ window: `${seconds}s` });
    assert.equal(verdicts(shifted.outputs)['join-success'], 'fail');
  });

  /** The ```mermaid blocks of a summary, as name -> { labels, values, limits, axis }. */
  function charts(summary: string) {
    const out = new Map<string, { labels: string[]; values: number[]; limits: number[]; axis: number[] }>();
    for (const m of summary.matchAll(/\n```mermaid\n([\s\S]*?)\n```\n/g)) {
      const text = m[1]!;
      const name = /title "([^:"]+):/.exec(text)?.[1] ?? '';
      const labels = [.../x-axis "[^"]*" \[(.*)\]/.exec(text)![1]!.matchAll(/"([^"]*)"/g)].map((l) => l[1]!);
      const [values, limits] = [...text.matchAll(/^ {4}line \[(.*)\]$/gm)].map((l) =>
        l[1]!.split(', ').map(Number),
      );
      const axis = /y-axis "[^"]*" (\S+) --> (\S+)/.exec(text)!.slice(1).map(Number);
      assert.ok(text.startsWith('%%{init:') && text.includes('\nxychart-beta\n'), text);
      assert.doesNotMatch(text, /\de[-+]?\d/, 'no exponent: xychart numbers are fixed notation');
      out.set(name, { labels, values: values!, limits: limits!, axis });
    }
    return out;
  }

  /** The gate over a load test's span, charted at the test Prometheus' scrape interval. */
  const chartedSpan = (started: string, ended: string) => ({
    'start-time': started,
    'end-time': ended,
    'settle-seconds': 1,
  });

  it('charts each objective over the load test against its limit, from a range query (issue 15 §5)', async () => {
    const started = new Date().toISOString();
    const good = await goodLoad('4s');
    const ended = new Date().toISOString();
    assert.equal(good.ok, true);
    const result = await gate(chartedSpan(started, ended));
    assert.equal(result.outputs.verdict, 'pass', result.log);
    assert.match(result.summary, /<h3>Objectives over the load test<\/h3>/);
    const byName = charts(result.summary);
    // recovery-success was not exercised (nobody rejoined): no point has a value, so no chart.
    const exercised = Object.entries(verdicts(result.outputs)).filter(([, v]) => v !== 'not-exercised');
    assert.deepEqual(
      [...byName.keys()],
      exercised.map(([name]) => name),
      'one chart per exercised objective',
    );
    assert.match(result.summary, /recovery-success: no chart: /);
    for (const [name, c] of byName) {
      const objective = (
        JSON.parse(result.outputs.objectives!) as { name: string; limit: number; unit: string }[]
      ).find((o) => o.name === name)!;
      const limit = objective.unit === 'seconds' ? objective.limit * 1000 : objective.limit;
      assert.ok(c.values.length >= 2, `${name}: ${c.values.length} point(s)`);
      assert.equal(c.labels.length, c.values.length, name);
      assert.deepEqual(
        c.limits,
        c.values.map(() => limit),
        `${name}: the limit line`,
      );
      assert.ok(
        c.axis[0]! <= Math.min(limit, ...c.values) && c.axis[1]! >= Math.max(limit, ...c.values),
        name,
      );
    }
    // A healthy run: every join and connect succeeded at every point.
    assert.ok(byName.get('join-success')!.values.every((v) => v === 1));
    assert.ok(byName.get('ws-connect-success')!.values.every((v) => v === 1));
  });

  it('shows the dip: refused joins inside the window draw join-success below its limit', async () => {
    const started = new Date().toISOString();
    const [fault, good] = await Promise.all([refusedJoins(server, '3s'), goodLoad('4s')]);
    const ended = new Date().toISOString();
    assert.equal(fault.ok, false);
    assert.equal(good.ok, true);
    const result = await gate(chartedSpan(started, ended));
    assert.equal(verdicts(result.outputs)['join-success'], 'fail');
    const join = charts(result.summary).get('join-success')!;
    assert.ok(
      join.values.some((v) => v < 0.999),
      `join-success never below its limit: ${join.values.join(', ')}`,
    );
  });

  it('fails when refused joins push join success below its limit, naming the objective', async () => {
    // Tokens whose join claim covers other topics: the server refuses every join (unauthorized).
    const [refused, good] = await Promise.all([
      runScenario({
        scenario: 'presence-churn',
        url: server.socketUrl,
        jwtSecret: testSecrets.jwtSecret,
        tokenTopics: ['elsewhere:*'],
        vus: 4,
        duration: '3s',
        env: { ROOMS: '1', HOLD: '100ms', CYCLES: '2', GRACEFUL_STOP: '2s', TIMEOUT: '2s' },
      }),
      goodLoad('3s'),
    ]);
    assert.equal(refused.ok, false, 'the refused joins fail the load test too');
    assert.equal(good.ok, true);
    const result = await gate({ 'soak-seconds': 1, window: '30s' });
    assert.equal(result.failed, true);
    assert.equal(result.outputs.verdict, 'fail');
    const byName = verdicts(result.outputs);
    assert.equal(byName['join-success'], 'fail');
    assert.equal(byName['ws-connect-success'], 'pass');
    assert.match(result.errors[0] ?? '', /SLO gate fail: join-success fail \(0\.\d+ is not >= 0\.999\)/);
    const row = parseSummaryTables(result.summary)[1]!.find((r) => r[0] === 'join-success')!;
    assert.equal(row[4], 'FAIL');
  });

  it('is inconclusive when one objective queries a metric that does not exist, even if the others pass', async () => {
    const gateDoc = JSON.parse(readFileSync(gateFile, 'utf8')) as { objectives: { name: string }[] };
    const custom = join(tmp, 'gate-unknown.json');
    writeFileSync(
      custom,
      JSON.stringify({
        version: 1,
        objectives: [
          gateDoc.objectives.find((o) => o.name === 'ws-connect-success'),
          {
            name: 'typo-metric',
            description: 'a metric nobody exports',
            query: 'sum(rate(switchboard_conections_opened_total[$window]))',
            comparator: '>=',
            limit: 1,
            unit: 'ratio',
          },
        ],
      }),
    );
    const result = await gate({ 'gate-file': custom, window: '120s' });
    assert.equal(result.failed, true);
    assert.equal(result.outputs.verdict, 'inconclusive');
    assert.deepEqual(verdicts(result.outputs), {
      'ws-connect-success': 'pass',
      'typo-metric': 'inconclusive',
    });
    assert.match(result.errors[0] ?? '', /typo-metric inconclusive \(no data/);
  });

  it('is inconclusive on a PromQL error, with Prometheus’ own message', async () => {
    const custom = join(tmp, 'gate-bad.json');
    writeFileSync(
      custom,
      JSON.stringify({
        version: 1,
        objectives: [
          {
            name: 'broken',
            description: '',
            query: 'sum(rate(up[$window])',
            comparator: '<=',
            limit: 1,
            unit: 'ratio',
          },
        ],
      }),
    );
    const result = await gate({ 'gate-file': custom, window: '1m' });
    assert.equal(result.outputs.verdict, 'inconclusive');
    assert.match(result.errors[0] ?? '', /broken inconclusive \(Prometheus rejected the query \(bad_data\)/);
  });

  it('evaluates only the objectives asked for, and rejects unknown names listing the known ones', async () => {
    const one = await gate({ objectives: 'ws-connect-success', window: '120s' });
    assert.deepEqual(Object.keys(verdicts(one.outputs)), ['ws-connect-success']);
    const bad = await gate({ objectives: 'ws-connect-success, nope', window: '120s' });
    assert.equal(bad.failed, true);
    assert.match(
      bad.errors[0] ?? '',
      /objectives: unknown nope; the gate file has ws-connect-success, join-success/,
    );
  });

  it('is inconclusive for every objective when Prometheus is down', async () => {
    await prometheus.stop();
    const result = await gate({ window: '60s', 'query-timeout-seconds': 5 });
    assert.equal(result.failed, true);
    assert.equal(result.outputs.verdict, 'inconclusive');
    for (const verdict of Object.values(verdicts(result.outputs))) assert.equal(verdict, 'inconclusive');
    assert.match(result.errors[0] ?? '', /is unreachable: ECONNREFUSED/);
  });
});

describe('slo-gate input checks', () => {
  const quick = (inputs: ActionInputs) =>
    runAction(run, {
      inputs: { 'prometheus-url': 'http://127.0.0.1:9', selector: STAGING, ...inputs },
      env: { GITHUB_WORKSPACE: repo },
    });

  it('needs a window when there is no soak', async () => {
    const result = await quick({});
    assert.equal(result.failed, true);
    assert.match(result.errors[0] ?? '', /^window: with soak-seconds 0 give the window/);
  });

  it('needs the environment selector, as label matchers, and start/end times together', async () => {
    assert.match((await quick({ window: '5m', selector: '' })).errors[0] ?? '', /^selector is required/);
    assert.match(
      (await quick({ window: '5m', selector: 'namespace="a"}) or vector(1) or up{x="' })).errors[0] ?? '',
      /selector: .* is not a list of PromQL label matchers/,
    );
    assert.match(
      (await quick({ 'start-time': '2026-01-01T00:00:00Z' })).errors[0] ?? '',
      /start-time and end-time come together/,
    );
    assert.match(
      (await quick({ 'start-time': '2026-01-01T00:00:10Z', 'end-time': '2026-01-01T00:00:00Z' })).errors[0] ??
        '',
      /end-time must be after start-time/,
    );
    assert.match(
      (await quick({ window: '5m', 'start-time': '1', 'end-time': '2' })).errors[0] ?? '',
      /window and start-time\/end-time are both set/,
    );
  });

  it('rejects a window that is not a Prometheus duration and a malformed header line', async () => {
    assert.match(
      (await quick({ window: '5 minutes' })).errors[0] ?? '',
      /window: "5 minutes" is not a Prometheus duration/,
    );
    const headers = await quick({ window: '5m', headers: 'Authorization: Bearer s3cret\nnot a header' });
    assert.match(headers.errors[0] ?? '', /headers: line 2 is not "Name: value"/);
    assert.doesNotMatch(headers.log, /s3cret/, 'header values never reach the log');
  });

  it('sends bearer-token and headers to Prometheus, and a proxy 502 with an HTML body is inconclusive', async () => {
    // A proxy in front of Prometheus that records what reaches it and answers as a failing gateway does.
    const seen: IncomingHttpHeaders[] = [];
    const proxy = createServer((request, response) => {
      seen.push(request.headers);
      response.writeHead(502, { 'content-type': 'text/html' });
      response.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = proxy.address() as AddressInfo;
      const result = await quick({
        'prometheus-url': `http://127.0.0.1:${port}`,
        window: '5m',
        'bearer-token': 'tok-123',
        headers: 'X-Scope-OrgID: tenant-a',
        'query-timeout-seconds': 5,
      });
      assert.equal(result.failed, true);
      assert.equal(result.outputs.verdict, 'inconclusive');
      for (const verdict of Object.values(verdicts(result.outputs))) assert.equal(verdict, 'inconclusive');
      assert.match(result.errors[0] ?? '', /502/);
      assert.ok(seen.length > 0, 'no request reached the proxy');
      for (const headers of seen) {
        assert.equal(headers.authorization, 'Bearer tok-123');
        assert.equal(headers['x-scope-orgid'], 'tenant-a');
      }
      // The runner masks the token (add-mask); no other line prints it.
      assert.match(result.log, /^::add-mask::tok-123$/m);
      const unmasked = result.log.split('\n').filter((l) => !l.startsWith('::add-mask::'));
      assert.doesNotMatch(unmasked.join('\n'), /tok-123/);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('reports every problem of a broken gate file at once and says how to regenerate it', async () => {
    const broken = join(tmp, 'gate-broken.json');
    writeFileSync(
      broken,
      JSON.stringify({ version: 1, objectives: [{ name: 'a', query: 'up', comparator: '>', limit: 'x' }] }),
    );
    const result = await quick({ window: '5m', 'gate-file': broken });
    assert.match(result.errors[0] ?? '', /objectives\[0\] \(a\)\.comparator must be ">=" or "<="/);
    assert.match(result.errors[0] ?? '', /objectives\[0\] \(a\)\.limit must be a number/);
    assert.match(result.errors[0] ?? '', /npm run slo:generate/);
    const missing = await quick({ window: '5m', 'gate-file': 'nope/gate.json' });
    assert.match(missing.errors[0] ?? '', /gate-file: cannot read .*nope\/gate\.json \(no such file\)/);
  });
});
