import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { testSecrets } from '../../../testkit/src/index.js';
import type { LoadSummary } from '../../../pipeline/src/k6/index.js';
import {
  parseSummaryTables,
  summaryTableToRecord,
  type ActionInputs,
} from '../../../pipeline/src/testing/index.js';
import { fakeK6, repo, useLoadHarness } from './support/harness.js';

const h = useLoadHarness('k6-loadtest-test-');
const { tmp } = h;

interface ThresholdOutput {
  metric: string;
  expression: string;
  ok: boolean;
  value: number | null;
}

function loadtest(inputs: ActionInputs, env: Record<string, string | undefined> = {}) {
  return h.step({ duration: '2s', vus: 3, env: 'ROOMS=1\nGRACEFUL_STOP=2s\nTIMEOUT=3s', ...inputs }, env);
}

describe('k6-loadtest, local mode', () => {
  it('engine node: runs the scenario against a real server, outputs passed and every threshold, writes the summary', async () => {
    const summaryPath = join(tmp, 'node-fanout.json');
    const before = Date.now();
    const result = await loadtest({
      scenario: 'fanout',
      engine: 'node',
      url: h.server.socketUrl,
      token: h.token,
      'summary-path': summaryPath,
    });
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(result.outputs.passed, 'true');
    assert.equal(result.outputs['summary-path'], summaryPath);
    assert.ok(
      Number(result.outputs['duration-seconds']) >= 2,
      `duration-seconds ${result.outputs['duration-seconds']}`,
    );
    // The SLO gate's start-time/end-time: the span the test ran in, on the runner's clock.
    const started = Date.parse(result.outputs['started-at'] ?? '');
    const ended = Date.parse(result.outputs['ended-at'] ?? '');
    assert.ok(before <= started && started < ended && ended <= Date.now(), `${started}..${ended}`);
    assert.ok(ended - started >= 2000, `the 2s test spans ${ended - started} ms`);
    const thresholds = JSON.parse(result.outputs.thresholds!) as ThresholdOutput[];
    assert.deepEqual(thresholds.map((t) => `${t.metric} ${t.expression} ${t.ok}`).sort(), [
      'phx_delivery_latency p(99)<=250 true',
      'phx_errors rate<=0.001 true',
      'phx_join_success rate>=0.999 true',
      'ws_connect_success rate>=0.999 true',
    ]);
    assert.equal(thresholds.find((t) => t.metric === 'phx_join_success')?.value, 1);
    const summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as LoadSummary;
    assert.equal(summary.version, 1);
    assert.equal(summary.engine, 'node');
    assert.equal(summary.config.vus, 3);
    const [overview, table] = parseSummaryTables(result.summary);
    assert.equal(summaryTableToRecord(overview!).Engine, 'Node runner');
    assert.deepEqual(table![0], ['Metric', 'Threshold', 'Value', 'Result']);
    assert.deepEqual(
      table!.find((r) => r[0] === 'phx_join_success'),
      ['phx_join_success', 'rate>=0.999', '1', 'pass'],
    );
    assert.doesNotMatch(result.log.replace(/^::add-mask::.*$/gm, ''), new RegExp(h.token.slice(-20)));
  });

  it('engine node: a failed threshold fails the step naming it, or only warns with fail-on-thresholds false', async () => {
    const inputs = {
      scenario: 'presence-churn',
      engine: 'node',
      url: h.server.socketUrl,
      token: h.refusedToken,
    };
    const failing = await loadtest(inputs);
    assert.equal(failing.failed, true);
    assert.equal(failing.outputs.passed, 'false');
    assert.match(
      failing.errors[0] ?? '',
      /load test presence-churn failed \d threshold\(s\): .*phx_join_success rate>=0\.999 \(value 0\)/,
    );
    const row = parseSummaryTables(failing.summary)[1]!.find((r) => r[0] === 'phx_join_success');
    assert.deepEqual(row, ['phx_join_success', 'rate>=0.999', '0', 'FAIL']);

    const warned = await loadtest({ ...inputs, 'fail-on-thresholds': false });
    assert.equal(warned.failed, false);
    assert.equal(warned.outputs.passed, 'false');
    assert.match(warned.warnings[0] ?? '', /phx_join_success.*fail-on-thresholds is false/);
  });

  it('engine k6: runs `k6 run -e ...` on the bundle with TOKEN only in the environment, and reads the handleSummary JSON', async () => {
    const argsFile = join(tmp, 'k6-args.txt');
    const result = await loadtest(
      {
        scenario: 'connect-storm',
        url: h.server.socketUrl,
        token: h.token,
        k6: fakeK6,
        env: 'ROOMS=2\nHOLD=100ms',
      },
      { FAKE_K6_ARGS: argsFile },
    );
    assert.equal(result.failed, false, `${result.errors.join('\n')}\n${result.log.slice(-2000)}`);
    assert.equal(result.outputs.passed, 'true');
    const args = readFileSync(argsFile, 'utf8').trim().split('\n');
    const summaryPath = join(tmp, 'k6-connect-storm-summary.json');
    assert.deepEqual(args, [
      'run',
      '--no-color',
      '-e',
      'ROOMS=2',
      '-e',
      'HOLD=100ms',
      '-e',
      `URL=${h.server.socketUrl}`,
      '-e',
      'VUS=3',
      '-e',
      'DURATION=2s',
      '-e',
      `SUMMARY_PATH=${summaryPath}`,
      join(repo, 'base/loadtest/generated/connect-storm.js'),
    ]);
    assert.ok(!args.some((a) => a.includes(h.token)), 'the token is never on the command line');
    assert.equal((JSON.parse(readFileSync(summaryPath, 'utf8')) as LoadSummary).scenario, 'connect-storm');
    assert.equal(summaryTableToRecord(parseSummaryTables(result.summary)[0]!).Engine, 'k6');
  });

  it('engine k6: exit 99 (threshold failed) is a verdict, not an error', async () => {
    const result = await loadtest({
      scenario: 'connect-storm',
      url: h.server.socketUrl,
      token: h.refusedToken,
      k6: fakeK6,
    });
    assert.equal(result.outputs.passed, 'false');
    assert.match(result.errors[0] ?? '', /load test connect-storm failed .*phx_join_success/);
  });

  it('engine k6 without k6 installed: says how to install it', async () => {
    const result = await loadtest({
      scenario: 'fanout',
      url: h.server.socketUrl,
      token: h.token,
      k6: 'k6-not-installed',
    });
    assert.equal(result.failed, true);
    assert.match(result.errors[0] ?? '', /cannot run k6-not-installed: .*grafana\/setup-k6-action/);
  });

  it('engine node with jwt-secret instead of token signs its own tokens and passes', async () => {
    const result = await loadtest({
      scenario: 'connect-storm',
      engine: 'node',
      url: h.server.socketUrl,
      'jwt-secret': testSecrets.jwtSecret,
    });
    // Signed with the server's secret, every connect is accepted (the join rate under a busy machine is
    // not this test's business).
    const thresholds = JSON.parse(result.outputs.thresholds ?? '[]') as ThresholdOutput[];
    const connect = thresholds.find((t) => t.metric === 'ws_connect_success');
    assert.equal(connect?.ok, true, result.errors.join('\n'));
    assert.match(result.log, new RegExp(`^::add-mask::${testSecrets.jwtSecret}$`, 'm'));
  });

  it('bundle-dir: k6 runs the bundle from the directory given, relative to the workspace', async () => {
    const bundles = join(tmp, 'other-bundles');
    mkdirSync(bundles, { recursive: true });
    copyFileSync(join(repo, 'base/loadtest/generated/connect-storm.js'), join(bundles, 'connect-storm.js'));
    const argsFile = join(tmp, 'k6-args-bundle-dir.txt');
    const result = await loadtest(
      {
        scenario: 'connect-storm',
        url: h.server.socketUrl,
        token: h.token,
        k6: fakeK6,
        'bundle-dir': relative(repo, bundles),
      },
      { FAKE_K6_ARGS: argsFile },
    );
    // The load's verdict is not this test's business (the fake k6 runs it on a busy machine): only which
    // bundle k6 was given.
    assert.ok(['true', 'false'].includes(result.outputs.passed ?? ''), result.errors.join('\n'));
    assert.equal(readFileSync(argsFile, 'utf8').trim().split('\n').at(-1), join(bundles, 'connect-storm.js'));
  });
});

describe('k6-loadtest input checks', () => {
  const cases: [string, ActionInputs, RegExp][] = [
    [
      'unknown mode',
      { scenario: 'fanout', mode: 'cloud', token: 't', url: 'ws://x/socket' },
      /^mode: "cloud" is not one of local, operator/,
    ],
    [
      'no bundle for the scenario',
      { scenario: 'nope', token: 't', url: 'ws://x/socket' },
      /^scenario: no k6 bundle .*nope\.js.*loadtests:bundle/,
    ],
    ['missing token', { scenario: 'fanout', url: 'ws://x/socket' }, /^token is required/],
    ['missing url in local mode', { scenario: 'fanout', token: 't' }, /^url is required/],
    [
      'http url',
      { scenario: 'fanout', token: 't', url: 'http://x/socket' },
      /^url: "http:\/\/x\/socket" must start with ws:\/\//,
    ],
    [
      'bad duration',
      { scenario: 'fanout', token: 't', url: 'ws://x/socket', duration: '2 minutes' },
      /^duration: "2 minutes" is not a k6 duration/,
    ],
    [
      'token in env',
      { scenario: 'fanout', token: 't', url: 'ws://x/socket', env: 'TOKEN=abc' },
      /^env: pass the JWT through the token input/,
    ],
    [
      'node in operator mode',
      { scenario: 'fanout', token: 't', mode: 'operator', engine: 'node', namespace: 'x' },
      /^engine: node runs only in mode local/,
    ],
    [
      'operator without namespace',
      { scenario: 'fanout', token: 't', mode: 'operator' },
      /^namespace is required in mode operator/,
    ],
  ];
  for (const [name, inputs, expected] of cases) {
    it(name, async () => {
      const result = await h.step(inputs);
      assert.equal(result.failed, true);
      assert.match(result.errors[0] ?? '', expected);
    });
  }
});
