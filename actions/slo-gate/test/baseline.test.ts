// The gate against a baseline (docs/pipeline.md, "Compared with a baseline"): a real Prometheus
// scraping two real servers, labelled as two sets of pods; WebSocket upgrades counted exactly (2,000
// accepted, and one refused on the candidate), so the candidate's connect success, 0.9995, meets the
// 0.999 objective but is worse than a clean baseline: the gate fails it only with the baseline.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import {
  signToken,
  startPrometheus,
  startSwitchboard,
  type PrometheusServer,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { runAction, type ActionInputs } from '../../../pipeline/src/testing/index.js';
import { badness, compareWithBaseline, noiseFloor } from '../src/baseline.js';
import { run } from '../src/main.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const CANARY = 'pod="switchboard-canary"';
const STABLE = 'pod="switchboard-stable"';
const SCRAPE_SECONDS = 0.5;
const ACCEPTED = 2000;

const connectSuccess = { comparator: '>=' as const, unit: 'ratio', limit: 0.999 };
const latency = { comparator: '<=' as const, unit: 'seconds', limit: 0.25 };
const errorRatio = { comparator: '<=' as const, unit: 'ratio', limit: 0.001 };

describe('baseline comparison, the arithmetic', () => {
  it('compares success ratios by their error ratio, latency and error ratios as they are', () => {
    assert.equal(Number(badness(0.998, connectSuccess).toFixed(6)), 0.002);
    assert.equal(badness(0.12, latency), 0.12);
    assert.equal(badness(0.0004, errorRatio), 0.0004);
    // 0.99 -> 0.98 is twice the errors: a regression at 10 %, though both meet a 0.95 objective.
    const loose = { ...connectSuccess, limit: 0.95 };
    assert.equal(compareWithBaseline(0.98, 0.99, loose, 0.1).regressed, true);
    assert.equal(compareWithBaseline(0.9891, 0.99, loose, 0.1).regressed, false);
    assert.equal(Number(compareWithBaseline(0.98, 0.99, loose, 0.1).allowed.toFixed(6)), 0.985);
    // p99 450 ms against 300 ms (of a 1 s objective): 50 % worse, 150 ms more; allowed up to 400 ms.
    const slow = { ...latency, limit: 1 };
    assert.equal(compareWithBaseline(0.45, 0.3, slow, 0.1).regressed, true);
    assert.equal(compareWithBaseline(0.399, 0.3, slow, 0.1).regressed, false);
    assert.equal(compareWithBaseline(0.44, 0.3, slow, 0.5).regressed, false);
    assert.equal(compareWithBaseline(0.0008, 0.0005, errorRatio, 0.1).regressed, true);
    assert.equal(compareWithBaseline(0.0005, 0.0005, errorRatio, 0).regressed, false);
  });

  it('never counts a change below a tenth of the objective allowance', () => {
    assert.equal(noiseFloor(latency), 0.025);
    assert.equal(Number(noiseFloor(connectSuccess).toFixed(8)), 0.0001);
    // 20 ms against 10 ms is twice as slow, but under 25 ms: noise for a 250 ms objective.
    assert.equal(compareWithBaseline(0.02, 0.01, latency, 0.1).regressed, false);
    assert.equal(compareWithBaseline(0.04, 0.01, latency, 0.1).regressed, true);
    // 41 ms against 37 ms is 11 % worse, but a change of 4 ms: noise too; 70 ms against 37 ms is not.
    assert.equal(compareWithBaseline(0.041, 0.037, latency, 0.1).regressed, false);
    assert.equal(Number(compareWithBaseline(0.041, 0.037, latency, 0.1).allowed.toFixed(6)), 0.062);
    assert.equal(compareWithBaseline(0.07, 0.037, latency, 0.1).regressed, true);
    // 1 error in 20,000 against none: under the floor; 1 in 2,000: over it.
    assert.equal(compareWithBaseline(1 - 1 / 20_000, 1, connectSuccess, 0.1).regressed, false);
    assert.equal(compareWithBaseline(1 - 1 / 2_000, 1, connectSuccess, 0.1).regressed, true);
  });
});

let canary: SwitchboardProcess;
let stable: SwitchboardProcess;
let prometheus: PrometheusServer;

before(async () => {
  [canary, stable] = await Promise.all([
    startSwitchboard({ LOG_LEVEL: 'warn' }),
    startSwitchboard({ LOG_LEVEL: 'warn' }),
  ]);
  prometheus = await startPrometheus({
    scrapeTargets: [],
    labelledTargets: [
      { targets: [`127.0.0.1:${canary.metricsPort}`], labels: { pod: 'switchboard-canary' } },
      { targets: [`127.0.0.1:${stable.metricsPort}`], labels: { pod: 'switchboard-stable' } },
    ],
    scrapeIntervalMs: SCRAPE_SECONDS * 1000,
  });
  await prometheus.scrapedAfter(Date.now(), 2);
});

after(async () => {
  await prometheus?.stop();
  await Promise.all([canary?.stop(), stable?.stop()]);
});

/** `accepted` WebSocket upgrades that open and close, then `refused` with a bad token; exact counts. */
async function upgrades(target: SwitchboardProcess, accepted: number, refused = 0): Promise<void> {
  const token = await signToken({ sub: 'baseline', join: ['room:*'] });
  const one = (t: string) =>
    new Promise<boolean>((resolve) => {
      const ws = new WebSocket(`${target.socketUrl}/websocket?vsn=2.0.0&token=${t}`);
      ws.once('open', () => ws.close());
      ws.once('close', (code) => resolve(code !== 1006));
      ws.once('error', () => resolve(false));
    });
  let opened = 0;
  for (let i = 0; i < accepted; i += 50) {
    const wave = await Promise.all(Array.from({ length: Math.min(50, accepted - i) }, () => one(token)));
    opened += wave.filter(Boolean).length;
  }
  assert.equal(opened, accepted, 'every good upgrade opened');
  for (let i = 0; i < refused; i++) assert.equal(await one('not-a-token'), false);
}

/** Runs `load`; its span ends once Prometheus has scraped its last counts (the gate looks AT the end). */
async function span(load: () => Promise<unknown>): Promise<[number, number]> {
  const start = Date.now();
  await load();
  await prometheus.scrapedAfter(Date.now(), 2);
  return [start, Date.now()];
}

/** The gate over [start, end] on the canary, ws-connect-success only. */
function gate(start: number, end: number, inputs: ActionInputs) {
  return runAction(run, {
    inputs: {
      'prometheus-url': prometheus.url,
      'poll-interval-seconds': 0.5,
      'scrape-interval-seconds': SCRAPE_SECONDS,
      'settle-seconds': 0,
      selector: CANARY,
      objectives: 'ws-connect-success',
      'start-time': new Date(start).toISOString(),
      'end-time': new Date(end).toISOString(),
      ...inputs,
    },
    env: { GITHUB_WORKSPACE: repo },
  });
}

interface Judged {
  name: string;
  verdict: string;
  value: number | null;
  reason: string;
  baseline?: { value: number | null; allowed: number | null; reason: string; 'evaluated-at'?: string };
}
const judged = (outputs: Record<string, string>) => (JSON.parse(outputs.objectives ?? '[]') as Judged[])[0]!;

/** The canary's upgrades by result over `windowMs` (plus two scrapes) ending at `at` (ISO): a diagnostic. */
async function upgradesByResult(at: string | undefined, windowMs: number): Promise<string> {
  if (at === undefined) return 'no baseline evaluation time';
  const seconds = Math.ceil(windowMs / 1000 + 2 * SCRAPE_SECONDS);
  const t = (Date.parse(at) / 1000).toFixed(3);
  const rows = await prometheus.query(
    `increase(switchboard_connections_opened_total{${CANARY}}[${seconds}s] @ ${t}) > 0`,
  );
  return `upgrades by result over ${seconds}s ending at ${at}: ${rows
    .map((r) => `${r.labels.result}=${r.value}`)
    .join(', ')}`;
}

describe('slo-gate with a baseline, against a real Prometheus', () => {
  beforeEach(() => prometheus.scrapedAfter(Date.now(), 2));

  it('another set of pods: a canary within the objective but worse than the stable pods fails; alone it passes', async () => {
    const [start, end] = await span(() =>
      Promise.all([upgrades(canary, ACCEPTED, 1), upgrades(stable, ACCEPTED)]),
    );

    const alone = await gate(start, end, {});
    assert.equal(alone.outputs.verdict, 'pass', alone.log);
    assert.ok(judged(alone.outputs).value! >= 0.999 && judged(alone.outputs).value! < 1);

    const compared = await gate(start, end, { 'baseline-selector': STABLE });
    assert.equal(compared.outputs.verdict, 'fail', compared.log);
    const r = judged(compared.outputs);
    assert.equal(r.baseline?.value, 1);
    assert.match(r.reason, /regressed against the baseline's 1: more than 10 % worse/);
    assert.match(compared.summary, /Allowed by baseline/);

    // Tolerating it: max-regression large enough for 1 in 2,001 against 0 cannot exist (0 x anything is
    // 0): the floor decides, so a larger tolerance changes nothing here.
    const tolerant = await gate(start, end, { 'baseline-selector': STABLE, 'max-regression': '10' });
    assert.equal(tolerant.outputs.verdict, 'fail');

    // Left out of baseline-objectives: judged on its absolute bound alone, no baseline queried.
    const others = await gate(start, end, {
      'baseline-selector': STABLE,
      objectives: 'ws-connect-success,join-success',
      'baseline-objectives': 'join-success',
    });
    const connect = (JSON.parse(others.outputs.objectives ?? '[]') as Judged[]).find(
      (o) => o.name === 'ws-connect-success',
    );
    assert.equal(connect?.verdict, 'pass', others.log);
    assert.equal(connect?.baseline, undefined);
    const listed = await gate(start, end, {
      'baseline-selector': STABLE,
      'baseline-objectives': 'ws-connect-success',
    });
    assert.equal(listed.outputs.verdict, 'fail', listed.log);
  });

  it('the same errors on both sides pass; a baseline without data is inconclusive', async () => {
    const [start, end] = await span(() =>
      Promise.all([upgrades(canary, ACCEPTED, 1), upgrades(stable, ACCEPTED, 1)]),
    );
    // rate() extrapolates each target's counters from its own scrape times: over a window of a few
    // seconds, equal counts (1 in 2,001) read up to about 20 % apart (seen: 0.0005 against 0.00042).
    // A tolerance above that noise passes them; the default 10 % is for windows of minutes.
    const same = await gate(start, end, { 'baseline-selector': STABLE, 'max-regression': '0.5' });
    assert.equal(same.outputs.verdict, 'pass', same.log);
    assert.ok(judged(same.outputs).baseline!.value! < 1);

    const nowhere = await gate(start, end, { 'baseline-selector': 'pod="switchboard-nowhere"' });
    assert.equal(nowhere.outputs.verdict, 'inconclusive');
    assert.match(judged(nowhere.outputs).reason, /^no baseline: no data/);
  });

  it('an earlier window of the same pods: the previous release', async () => {
    // The baseline window reaches up to 2.5 s before the earlier load (two scrapes of lead, and the
    // window's length and the offset rounded to seconds): 4 s of quiet keep the previous test's refused
    // upgrade out of it (CI once read 0.99953 there, the gate then passing what it should fail).
    await prometheus.scrapedAfter(Date.now(), 8);
    const [earlierStart, earlierEnd] = await span(() => upgrades(canary, ACCEPTED));
    // Quiet for at least as long as the load took (counted in scrapes, the test's clock): the judged
    // load, slower on a busy machine, must still end before its window laid over the earlier one does.
    do await prometheus.scrapedAfter(Date.now(), 1);
    while (Date.now() < earlierEnd + (earlierEnd - earlierStart) + 2000);
    const [start, end] = await span(() => upgrades(canary, ACCEPTED, 1));
    // An offset that lays the judged window over the earlier load (both start two scrapes early).
    const offset = Math.round((start - earlierStart) / 1000);
    assert.ok(end - offset * 1000 < start, 'the baseline window ends before the judged load starts');
    assert.ok(earlierEnd > earlierStart);

    const compared = await gate(start, end, { 'baseline-offset-seconds': String(offset) });
    const baseline = judged(compared.outputs).baseline;
    // The earlier window must be clean (no upgrade but accepted ones) for this test to mean anything;
    // when it is not, say which result Prometheus saw there.
    const why = baseline?.value === 1 ? '' : await upgradesByResult(baseline?.['evaluated-at'], end - start);
    assert.equal(baseline?.value, 1, `${compared.log}\n${why}`);
    assert.equal(compared.outputs.verdict, 'fail', compared.log);
    const alone = await gate(start, end, {});
    assert.equal(alone.outputs.verdict, 'pass', alone.log);
  });

  it('refuses a baseline that is the judged selector itself, a bad max-regression and an unknown baseline objective', async () => {
    const now = Date.now();
    const same = await gate(now - 2000, now, { 'baseline-selector': CANARY });
    assert.match(same.errors.join('\n'), /baseline-selector is the selector judged/);
    const bad = await gate(now - 2000, now, { 'baseline-selector': STABLE, 'max-regression': '-1' });
    assert.match(bad.errors.join('\n'), /max-regression: "-1" is not a non-negative number/);
    // A name the gate does not judge from Prometheus would compare nothing: refused, naming the known ones.
    const typo = await gate(now - 2000, now, {
      'baseline-selector': STABLE,
      'baseline-objectives': 'join-sucess',
    });
    assert.match(
      typo.errors.join('\n'),
      /baseline-objectives: join-sucess not among .*\(ws-connect-success\)/,
    );
  });
});
