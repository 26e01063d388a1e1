import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { runScenario } from '../../../loadtests/src/runner.js';
import {
  findUnknownFields,
  formatPath,
  type ObjectSchema,
} from '../../../pipeline/src/validate/unknown-fields.js';
import { validateObjectSchema, type K8sObject } from '../../../pipeline/src/validate/index.js';
import {
  signToken,
  startSwitchboard,
  testSecrets,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import type { LoadSummary } from '../../../pipeline/src/k6/index.js';
import { parseSummaryTables, runAction, type ActionInputs } from '../../../pipeline/src/testing/index.js';
import { run } from '../src/main.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const fakeKubectl = fileURLToPath(new URL('./support/fake-kubectl.mjs', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'k6-operator-test-'));
// The TestRun schema of the pinned k6-operator (platform/versions.yaml), as npm run platform:extract wrote it.
const crdPath = join(repo, 'platform/schemas/k6.io_TestRun_v1alpha1.json');

let server: SwitchboardProcess;
let passingLog: string;
let failingLog: string;
let token: string;
let state: string;

/** A runner pod's log as k6 in k6-operator writes it: banner, progress, table on stdout, summary on stderr. */
function runnerLog(summary: LoadSummary): string {
  return [
    '         /\\      Grafana   /‾‾/  ',
    '    /\\  /  \\     |\\  __   /  /   ',
    '     execution: local',
    '        script: /test/connect-storm.js',
    'running (0m01.0s), 2/2 VUs, 14 complete and 0 interrupted iterations',
    '{"level":"info","msg":"a JSON log line that is not a summary","version":2}',
    `scenario ${summary.scenario} (k6): ${summary.config.vus} VUs`,
    JSON.stringify(summary, null, 2),
    'time="2026-01-01T00:00:02Z" level=info msg="test finished"',
    '',
  ].join('\n');
}

async function runnerSummary(runToken: string): Promise<LoadSummary> {
  const summary = await runScenario({
    scenario: 'connect-storm',
    url: server.socketUrl,
    token: runToken,
    vus: 2,
    duration: '2s',
    env: { ROOMS: '1', HOLD: '100ms', GRACEFUL_STOP: '2s', TIMEOUT: '3s' },
  });
  return { ...summary, engine: 'k6' };
}

before(async () => {
  server = await startSwitchboard({ LOG_LEVEL: 'warn' });
  token = await signToken({ sub: 'load', join: ['room:*'], publish: ['room:*'] });
  const refused = await signToken({ sub: 'load', join: ['elsewhere:*'] }, testSecrets.jwtSecret);
  passingLog = runnerLog(await runnerSummary(token));
  failingLog = runnerLog(await runnerSummary(refused));
});
after(() => server?.stop());

beforeEach(() => {
  state = mkdtempSync(join(tmp, 'state-'));
});

function setLogs(...logs: string[]): string {
  const dir = join(state, 'logs');
  mkdirSync(dir);
  logs.forEach((log, i) => writeFileSync(join(dir, `${i + 1}.log`), log));
  return dir;
}

function operatorRun(inputs: ActionInputs, env: Record<string, string> = {}) {
  return runAction(run, {
    inputs: {
      scenario: 'connect-storm',
      mode: 'operator',
      namespace: 'switchboard-staging',
      token,
      vus: 40,
      duration: '1m',
      kubectl: fakeKubectl,
      'poll-interval-seconds': 0.01,
      ...inputs,
    },
    env: {
      GITHUB_WORKSPACE: repo,
      RUNNER_TEMP: tmp,
      GITHUB_RUN_ID: '4242',
      GITHUB_RUN_ATTEMPT: '2',
      FAKE_KUBECTL_STATE: state,
      ...env,
    },
  });
}

const calls = () =>
  readFileSync(join(state, 'calls.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) =>
      (JSON.parse(l) as string[]).filter((a) => a !== '--namespace' && a !== 'switchboard-staging').join(' '),
    );

/** The objects the last `kubectl apply` received, from the fake's record of stdin. */
function applied(): Record<string, K8sObject> {
  const objects = JSON.parse(readFileSync(join(state, 'objects.json'), 'utf8')) as Record<
    string,
    K8sObject & { polls?: number }
  >;
  return Object.fromEntries(
    Object.values(objects).map(({ polls: _polls, ...o }) => [`${o.kind}/${o.metadata.name}`, o as K8sObject]),
  );
}

describe('k6-loadtest, mode operator (kubectl stand-in playing k6-operator)', () => {
  it('creates a TestRun the CRD accepts, waits for finished, combines the runners’ log summaries, cleans up', async () => {
    const logs = setLogs(passingLog, failingLog);
    const result = await operatorRun({ parallelism: 2, cleanup: false }, { FAKE_K6_LOGS: logs });
    assert.equal(result.failed, true, 'one runner failed a threshold');
    assert.equal(result.outputs.passed, 'false');
    const thresholds = JSON.parse(result.outputs.thresholds!) as {
      metric: string;
      ok: boolean;
      value: number;
    }[];
    const join_ = thresholds.find((t) => t.metric === 'phx_join_success')!;
    assert.deepEqual([join_.ok, join_.value], [false, 0], 'worst runner’s value');
    assert.equal(thresholds.find((t) => t.metric === 'ws_connect_success')?.ok, true);
    const rows = parseSummaryTables(result.summary)[1]!;
    assert.deepEqual(rows[0], ['Metric', 'Threshold', 'Value (worst runner)', 'Result']);
    assert.deepEqual(rows.find((r) => r[0] === 'phx_join_success')?.[3], 'FAIL (1 of 2 runners)');
    const written = JSON.parse(readFileSync(result.outputs['summary-path']!, 'utf8')) as LoadSummary[];
    assert.equal(written.length, 2);

    const name = 'switchboard-connect-storm-4242-2';
    assert.deepEqual(calls(), [
      `delete testrun/${name} --ignore-not-found --wait=true`,
      'apply -f -',
      ...Array(5).fill(`get testrun ${name} -o json`),
      `get pods -l k6_cr=${name},runner=true -o json`,
      `logs ${name}-1-x7k2p --tail=-1`,
      `logs ${name}-2-x7k2p --tail=-1`,
    ]);

    const objects = applied();
    assert.deepEqual(Object.keys(objects).sort(), [
      `ConfigMap/${name}-script`,
      `Secret/${name}-token`,
      `TestRun/${name}`,
    ]);
    const configMap = objects[`ConfigMap/${name}-script`]! as K8sObject & { data: Record<string, string> };
    assert.equal(
      configMap.data['connect-storm.js'],
      readFileSync(join(repo, 'base/loadtest/generated/connect-storm.js'), 'utf8'),
    );
    assert.equal(
      (objects[`Secret/${name}-token`] as K8sObject & { stringData: { TOKEN: string } }).stringData.TOKEN,
      token,
    );
    for (const o of [configMap, objects[`Secret/${name}-token`]!]) {
      assert.deepEqual(
        await validateObjectSchema({ target: 'k6-loadtest', objects: [o], requireDigests: false }, o),
        [],
      );
    }

    // The TestRun against the k6-operator CRD's openAPIV3Schema (ajv), and no field the CRD does not declare.
    const testRun = objects[`TestRun/${name}`]!;
    const schema = (JSON.parse(readFileSync(crdPath, 'utf8')) as { openAPIV3Schema: ObjectSchema })
      .openAPIV3Schema;
    const ajv = new Ajv({ allErrors: true, strict: false });
    (addFormatsModule as unknown as (a: Ajv) => Ajv)(ajv);
    for (const f of ['int32', 'int64']) ajv.addFormat(f, { type: 'number', validate: Number.isInteger });
    ajv.addFormat('int-or-string', true);
    const validate = ajv.compile(schema);
    assert.ok(validate(testRun), JSON.stringify(validate.errors, null, 2));
    assert.deepEqual(findUnknownFields(schema, testRun).map(formatPath), []);

    const spec = testRun.spec as {
      parallelism: number;
      cleanup?: string;
      script: { configMap: { name: string; file: string } };
      runner: { image: string; env: { name: string; value?: string; valueFrom?: unknown }[] };
    };
    assert.equal(spec.parallelism, 2);
    assert.equal(spec.cleanup, undefined, 'pods must outlive the run so their logs can be read');
    assert.deepEqual(spec.script.configMap, { name: `${name}-script`, file: 'connect-storm.js' });
    assert.match(spec.runner.image, /^grafana\/k6:[\d.]+@sha256:[0-9a-f]{64}$/);
    assert.deepEqual(spec.runner.env, [
      { name: 'DURATION', value: '1m' },
      { name: 'SUMMARY_PATH', value: 'stderr' },
      { name: 'URL', value: 'ws://switchboard:4000/socket' },
      { name: 'VUS', value: '40' },
      { name: 'TOKEN', valueFrom: { secretKeyRef: { name: `${name}-token`, key: 'TOKEN' } } },
    ]);
  });

  it('passes when every runner passes, and deletes the TestRun, ConfigMap and Secret afterwards', async () => {
    const logs = setLogs(passingLog, passingLog, passingLog);
    const result = await operatorRun({ parallelism: 3, name: 'nightly-storm' }, { FAKE_K6_LOGS: logs });
    assert.equal(result.failed, false, result.errors.join('\n'));
    assert.equal(result.outputs.passed, 'true');
    assert.equal(
      calls().at(-1),
      'delete testrun/nightly-storm configmap/nightly-storm-script secret/nightly-storm-token --ignore-not-found --wait=false',
    );
    assert.deepEqual(applied(), {}, 'nothing left behind');
    assert.match(
      parseSummaryTables(result.summary)[0]!.find((r) => r[0] === 'Virtual users')?.[1] ?? '',
      /^6$/,
    );
  });

  it('fails with the TestRun’s conditions when it ends in stage error, and still cleans up', async () => {
    const logs = setLogs(passingLog);
    const result = await operatorRun(
      {},
      { FAKE_K6_LOGS: logs, FAKE_K6_STAGES: 'initialization,created,error' },
    );
    assert.equal(result.failed, true);
    assert.match(
      result.errors[0] ?? '',
      /testrun\/switchboard-connect-storm-4242-2 ended in stage error \(TestRunRunning: TestRunFailed runner job failed\)/,
    );
    assert.deepEqual(applied(), {});
  });

  it('fails when the TestRun does not finish in time, naming the stage and the input to raise', async () => {
    const result = await operatorRun(
      { 'timeout-seconds': 0.05 },
      { FAKE_K6_STAGES: 'initialization,started' },
    );
    assert.equal(result.failed, true);
    assert.match(
      result.errors[0] ?? '',
      /did not finish within 0\.05s \(stage (initialization|started)\); raise timeout-seconds/,
    );
  });

  it('fails when no runner log holds a summary', async () => {
    const logs = setLogs('running (0m01.0s), 2/2 VUs\nERRO[0001] script exception\n');
    const result = await operatorRun({}, { FAKE_K6_LOGS: logs });
    assert.match(
      result.errors[0] ?? '',
      /finished but no runner log held a summary \(pods: switchboard-connect-storm-4242-2-1-x7k2p\)/,
    );
    assert.match(result.warnings[0] ?? '', /no summary JSON in its log/);
  });

  it('runner-image and kube-context reach the TestRun and every kubectl call', async () => {
    const image = `registry.example.com/k6-extended:1.0@sha256:${'d'.repeat(64)}`;
    const logs = setLogs(passingLog);
    const result = await operatorRun(
      { 'runner-image': image, 'kube-context': 'staging-cluster', cleanup: false },
      { FAKE_K6_LOGS: logs },
    );
    assert.equal(result.failed, false, result.errors.join('\n'));
    const testRun = applied()['TestRun/switchboard-connect-storm-4242-2']!;
    assert.equal((testRun.spec as { runner: { image: string } }).runner.image, image);
    const raw = readFileSync(join(state, 'calls.jsonl'), 'utf8').trim().split('\n');
    assert.ok(raw.length >= 4, raw.join('\n'));
    for (const line of raw) {
      const argv = JSON.parse(line) as string[];
      assert.equal(argv[argv.indexOf('--context') + 1], 'staging-cluster', line);
    }
  });
});
