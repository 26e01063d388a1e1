// phase: start / wait -- the load test runs in the background while later steps of the job work (a
// deploy's sync inside the load window), then `wait` gives the outputs `run` gives. The worker is
// this action's own entry point, started detached; the load runs against a real server.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runScenario } from '../../../loadtests/src/runner.js';
import type { LoadSummary } from '../../../pipeline/src/k6/index.js';
import {
  parseSummaryTables,
  summaryTableToRecord,
  type ActionInputs,
} from '../../../pipeline/src/testing/index.js';
import { fakeK6, fakeKubectl, useLoadHarness } from './support/harness.js';

const h = useLoadHarness('k6-loadtest-phases-');
const { tmp } = h;

const step = h.step;
const load = (inputs: ActionInputs): ActionInputs => ({
  scenario: 'fanout',
  engine: 'node',
  url: h.server.socketUrl,
  token: h.token,
  duration: '3s',
  vus: 3,
  env: 'ROOMS=1\nGRACEFUL_STOP=2s\nTIMEOUT=3s',
  ...inputs,
});

describe('k6-loadtest, phase start and wait', () => {
  it('engine node: start returns while the test runs; wait gives the outputs run gives, over the whole span', async () => {
    const summaryPath = join(tmp, 'node-start-wait.json');
    const before = Date.now();
    const started = await step(load({ phase: 'start', 'summary-path': summaryPath }));
    assert.equal(started.failed, false, started.errors.join('\n'));
    const handle = started.outputs.handle ?? '';
    assert.ok(handle.startsWith(tmp), `handle ${handle} is in RUNNER_TEMP`);
    // Returned before the 3 s test could have written its summary: it runs in the background.
    assert.equal(existsSync(summaryPath), false, 'the summary exists already: start ran the test itself');
    assert.equal(started.outputs.passed, undefined);
    const startedAt = Date.parse(started.outputs['started-at'] ?? '');
    assert.ok(before <= startedAt && startedAt <= Date.now());
    assert.doesNotMatch(readFileSync(join(handle, 'state.json'), 'utf8'), new RegExp(h.token.slice(-20)));

    const waited = await step({ phase: 'wait', handle });
    assert.equal(waited.failed, false, `${waited.errors.join('\n')}\n${waited.log.slice(-3000)}`);
    // The same outputs as phase run (k6-loadtest.test.ts), from the start to the end of the test.
    assert.deepEqual(Object.keys(waited.outputs).sort(), [
      'duration-seconds',
      'ended-at',
      'passed',
      'started-at',
      'summary-path',
      'thresholds',
    ]);
    assert.equal(waited.outputs.passed, 'true');
    assert.equal(waited.outputs['summary-path'], summaryPath);
    assert.equal(waited.outputs['started-at'], started.outputs['started-at']);
    const ended = Date.parse(waited.outputs['ended-at'] ?? '');
    assert.ok(ended - startedAt >= 3000, `the 3s test spans ${ended - startedAt} ms`);
    const summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as LoadSummary;
    assert.equal(summary.engine, 'node');
    const [overview, table] = parseSummaryTables(waited.summary);
    assert.equal(summaryTableToRecord(overview!).Engine, 'Node runner');
    assert.deepEqual(
      table!.find((r) => r[0] === 'phx_join_success'),
      ['phx_join_success', 'rate>=0.999', '1', 'pass'],
    );
  });

  it('engine k6: the worker runs k6 with TOKEN in its environment; wait reads its summary', async () => {
    const argsFile = join(tmp, 'k6-args-phases.txt');
    const started = await step(
      load({
        phase: 'start',
        engine: 'k6',
        scenario: 'connect-storm',
        k6: fakeK6,
        env: 'ROOMS=1\nHOLD=100ms',
      }),
      { FAKE_K6_ARGS: argsFile },
    );
    assert.equal(started.failed, false, started.errors.join('\n'));
    const waited = await step({ phase: 'wait', handle: started.outputs.handle ?? '' });
    assert.equal(waited.outputs.passed, 'true', `${waited.errors.join('\n')}\n${waited.log.slice(-3000)}`);
    const args = readFileSync(argsFile, 'utf8');
    assert.ok(!args.includes(h.token), 'the token is never on the command line');
    assert.equal(summaryTableToRecord(parseSummaryTables(waited.summary)[0]!).Engine, 'k6');
  });

  it('wait fails on a failed threshold as run does', async () => {
    const started = await step(load({ phase: 'start', scenario: 'presence-churn', token: h.refusedToken }));
    const waited = await step({ phase: 'wait', handle: started.outputs.handle ?? '' });
    assert.equal(waited.failed, true);
    assert.equal(waited.outputs.passed, 'false');
    assert.match(
      waited.errors[0] ?? '',
      /load test presence-churn failed \d threshold\(s\): .*phx_join_success rate>=0\.999 \(value 0\)/,
    );
  });

  it('wait is bounded by timeout-seconds, and a later wait still gets the result', async () => {
    const started = await step(load({ phase: 'start', duration: '4s' }));
    const handle = started.outputs.handle ?? '';
    const early = await step({ phase: 'wait', handle, 'timeout-seconds': 1 });
    assert.equal(early.failed, true);
    assert.match(early.errors[0] ?? '', /did not end within 1s; raise timeout-seconds/);
    const late = await step({ phase: 'wait', handle });
    assert.equal(late.outputs.passed, 'true', late.errors.join('\n'));
  });

  it('handle: only a state folder of phase start in RUNNER_TEMP is accepted', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'k6-loadtest-elsewhere-'));
    writeFileSync(join(elsewhere, 'state.json'), '{}');
    const linked = join(tmp, 'k6-loadtest-fanout-linked');
    symlinkSync(elsewhere, linked);
    const empty = join(tmp, 'k6-loadtest-fanout-abcdef');
    mkdirSync(empty);
    const cases: [string, RegExp][] = [
      ['', /handle is required in phase wait/],
      ['relative/k6-loadtest-x', /is not an absolute path/],
      [elsewhere, /is not a state folder of phase start in RUNNER_TEMP/],
      [join(tmp, '..', 'k6-loadtest-fanout-abcdef'), /is not a state folder of phase start in RUNNER_TEMP/],
      [linked, /is not a state folder of phase start in RUNNER_TEMP/],
      [empty, /holds no load test started by phase start/],
    ];
    for (const [handle, message] of cases) {
      const result = await step({ phase: 'wait', handle });
      assert.equal(result.failed, true, handle);
      assert.match(result.errors[0] ?? '', message, handle);
    }
    const phase = await step({ phase: 'later' });
    assert.match(phase.errors[0] ?? '', /phase: "later" is not one of run, start, wait/);
  });

  it('mode operator: start creates the TestRun and returns; wait polls it to finished and reports', async () => {
    const state = mkdtempSync(join(tmp, 'kubectl-'));
    // The runner pod's log: the summary a k6 runner prints, from a real run of the scenario.
    const summary = await runScenario({
      scenario: 'connect-storm',
      url: h.server.socketUrl,
      token: h.token,
      vus: 2,
      duration: '2s',
      env: { ROOMS: '1', HOLD: '100ms', GRACEFUL_STOP: '2s', TIMEOUT: '3s' },
    });
    const logs = join(state, 'logs');
    mkdirSync(logs);
    writeFileSync(join(logs, '1.log'), `running\n${JSON.stringify({ ...summary, engine: 'k6' }, null, 2)}\n`);
    const env = {
      FAKE_KUBECTL_STATE: state,
      FAKE_K6_LOGS: logs,
      GITHUB_RUN_ID: '77',
      GITHUB_RUN_ATTEMPT: '1',
    };
    const started = await step(
      {
        phase: 'start',
        scenario: 'connect-storm',
        mode: 'operator',
        namespace: 'switchboard-staging',
        token: h.token,
        kubectl: fakeKubectl,
        'poll-interval-seconds': 0.01,
      },
      env,
    );
    assert.equal(started.failed, false, started.errors.join('\n'));
    const calls = () => readFileSync(join(state, 'calls.jsonl'), 'utf8');
    assert.match(calls(), /"apply"/);
    assert.doesNotMatch(calls(), /"get"/, 'start does not wait for the TestRun');
    const waited = await step({ phase: 'wait', handle: started.outputs.handle ?? '' }, env);
    assert.match(calls(), /"get"/);
    assert.equal(waited.outputs.passed, 'true', waited.errors.join('\n'));
    assert.equal(waited.outputs['started-at'], started.outputs['started-at']);
    assert.match(
      summaryTableToRecord(parseSummaryTables(waited.summary)[0]!).Engine ?? '',
      /k6-operator TestRun/,
    );
  });
});
