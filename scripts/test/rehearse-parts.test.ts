// The rehearsal's pieces that need no infrastructure: reading the rendered staging overlay the way
// the stand-in does (Ingress annotations -> nginx, pod spec -> environment and podman flags),
// deploy.yml's jobs and expressions, the job-summary text, the promotion decision and the faults'
// expected objectives against the generated gate file.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ingressNginxConfig } from '../../testkit/src/nginx.js';
import { code, keyValueTable, table } from '../../pipeline/src/summary/index.js';
import { decide } from '../lib/rehearse/decision.js';
import { faultNames, faults, findFault } from '../lib/rehearse/faults.js';
import {
  containerSpec,
  expandVars,
  ingressSettings,
  ManifestError,
  mapServiceAddresses,
  parseMemoryQuantity,
} from '../lib/rehearse/manifests.js';
import { runJobOnThisMachine } from '../lib/rehearse/jobs.js';
import { podmanSecurityArgs } from '../lib/rehearse/replicas.js';
import { describeEnv } from '../lib/rehearse/standin.js';
import { htmlToMarkdown, sectionsToMarkdown } from '../lib/rehearse/summary-text.js';
import { condition, interpolate, readWorkflow } from '../lib/rehearse/workflow.js';
import { callInputs } from '../lib/rehearse/workflow-call.js';
import { renderObjects } from '../../pipeline/src/validate/index.js';
import { zxRunner } from '../lib/zx.js';
import { rehearsalComparedObjectives } from '../lib/rehearse/verification.js';
import { neighbourRooms, neighbourVus } from '../lib/rehearse/neighbour.js';
import { repoRoot } from './validate-fixtures.js';

const staging = await renderObjects('overlays/staging', repoRoot, zxRunner);
// The ingress-nginx edge (base/edge/ingress-nginx); staging has the default Gateway route (edge.test.ts).
const preview = await renderObjects('overlays/preview', repoRoot, zxRunner);
const secrets = {
  'switchboard-secrets': {
    JWT_SECRET: 'j'.repeat(40),
    API_TOKEN: 'a'.repeat(20),
    POSTGRES_PASSWORD: 'pw',
    REDIS_PASSWORD: 'rp',
  },
};

describe('the stand-in reads the rendered staging overlay', () => {
  test("a Job run on this machine reads no shell startup file (its stdin is not a socket bash takes for rshd's)", async () => {
    // With a socket pair as stdin and no SHLVL, `bash -c` sources ~/.bashrc: this machine's runs
    // pyenv init, whose rehash waited a minute on its lock. The Job's HOME has a .bashrc that says so.
    const home = mkdtempSync(join(tmpdir(), 'job-home-'));
    try {
      writeFileSync(join(home, '.bashrc'), 'echo "bashrc was read" >&2\n');
      const job = {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'startup-files' },
        spec: { template: { spec: { containers: [{ name: 'job', image: 'busybox' }] } } },
      };
      const out = await runJobOnThisMachine(
        job,
        {
          workload: 'Job/startup-files',
          container: 'job',
          image: 'busybox',
          command: ['bash', '-c', 'echo "the Job ran at level $SHLVL"'],
          env: {},
          envSources: {},
          readOnlyRootFilesystem: false,
          noNewPrivileges: true,
          dropCapabilities: [],
          tmpfs: [],
          terminationGraceSeconds: 30,
        },
        { HOME: home },
        { configMaps: [], dir: home, timeoutMs: 20_000 },
      );
      assert.match(out, /the Job ran/);
      assert.doesNotMatch(out, /bashrc was read/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('nginx gets the Ingress annotations: WebSocket timeouts, HTTP/1.1, no buffering, only its paths', () => {
    const ingress = ingressSettings(preview);
    assert.deepEqual(ingress.nginx, {
      proxyReadTimeoutSeconds: 3600,
      proxySendTimeoutSeconds: 3600,
      proxyConnectTimeoutSeconds: 5,
      proxyHttpVersion: '1.1',
      proxyBuffering: false,
      paths: ['/socket', '/api'],
      balance: 'round-robin',
    });
    const conf = ingressNginxConfig('/tmp/x', 8080, [4001, 4002], ingress.nginx);
    assert.match(conf, /location \/socket \{[^}]*proxy_read_timeout 3600s;/);
    assert.match(conf, /location \/api \{/);
    assert.match(conf, /location \/ \{\s*return 404;/);
  });

  test('other annotation values reach nginx; a bad one is an error naming the annotation', () => {
    const ingress = structuredClone(preview.find((o) => o.kind === 'Ingress')!);
    ingress.metadata.annotations = { 'nginx.ingress.kubernetes.io/proxy-read-timeout': '75' };
    const s = ingressSettings([ingress]);
    assert.equal(s.nginx.proxyReadTimeoutSeconds, 75);
    assert.equal(s.nginx.proxySendTimeoutSeconds, 60, "ingress-nginx's default when unset");
    ingress.metadata.annotations = { 'nginx.ingress.kubernetes.io/proxy-read-timeout': '1h' };
    assert.throws(
      () => ingressSettings([ingress]),
      (e: Error) => e instanceof ManifestError && /proxy-read-timeout: "1h"/.test(e.message),
    );
    // ingress-nginx balances round_robin unless told ewma, which nginx cannot play.
    assert.equal(s.nginx.balance, 'round-robin');
    ingress.metadata.annotations = { 'nginx.ingress.kubernetes.io/load-balance': 'ewma' };
    assert.throws(
      () => ingressSettings([ingress]),
      (e: Error) => e instanceof ManifestError && /load-balance: "ewma": .* round_robin/.test(e.message),
    );
  });

  test('the server pod environment: ConfigMap, Secret and fieldRef resolved, $(VAR) expanded', () => {
    const spec = containerSpec(staging, 'Deployment', 'switchboard', 'server', {
      podName: 'switchboard-0',
      namespace: 'rehearsal',
      secrets,
    });
    assert.equal(spec.env.DRAIN_WINDOW_MS, '30000');
    assert.equal(spec.envSources.DRAIN_WINDOW_MS, 'configmap switchboard-config');
    assert.equal(spec.env.NODE_ID, 'switchboard-0');
    assert.equal(spec.env.DATABASE_URL, 'postgres://switchboard:pw@postgres:5432/switchboard');
    assert.equal(spec.env.REDIS_PASSWORD, 'rp', 'the stand-in Redis requires this password');
    assert.equal(spec.memoryLimitBytes, 512 * 1024 * 1024);
    assert.equal(spec.user, '1000:1000');
    assert.deepEqual(podmanSecurityArgs(spec), [
      '--user',
      '1000:1000',
      '--read-only',
      '--tmpfs',
      `/tmp:size=${64 * 1024 * 1024}`,
      '--cap-drop',
      'ALL',
      '--security-opt',
      'no-new-privileges',
      '--memory',
      String(512 * 1024 * 1024),
    ]);
    const env = describeEnv(spec, { ...spec.env, HOST: '127.0.0.1' });
    assert.equal(env.find((e) => e.name === 'JWT_SECRET')?.value, '(generated secret)');
  });

  test('a missing secret key is an error naming the Secret and the key', () => {
    assert.throws(
      () =>
        containerSpec(staging, 'Deployment', 'switchboard', 'server', {
          podName: 'p',
          namespace: 'n',
          secrets: {},
        }),
      /needs key JWT_SECRET of Secret\/switchboard-secrets/,
    );
  });

  test('helpers: $(VAR) expansion, Service addresses to loopback, memory quantities', () => {
    assert.equal(expandVars('a$(X)b$$(X)c$(Y)', { X: '1' }), 'a1b$(X)c$(Y)');
    assert.equal(
      mapServiceAddresses('postgres://u:p@postgres:5432/db', { postgres: '127.0.0.1:5999' }),
      'postgres://u:p@127.0.0.1:5999/db',
    );
    assert.equal(
      mapServiceAddresses('redis://postgresx:1/0', { postgres: '127.0.0.1:5999' }),
      'redis://postgresx:1/0',
    );
    // The Redis Cluster's pod DNS names, in the server's comma list and the create Job's space list.
    const nodes = {
      'redis-cluster-0.redis-cluster': '127.0.0.1:7000',
      'redis-cluster-1.redis-cluster': '127.0.0.1:7001',
    };
    assert.equal(
      mapServiceAddresses('redis-cluster-0.redis-cluster:6379,redis-cluster-1.redis-cluster:6379', nodes),
      '127.0.0.1:7000,127.0.0.1:7001',
    );
    assert.equal(
      mapServiceAddresses('redis-cluster-0.redis-cluster:6379\nredis-cluster-1.redis-cluster:6379', nodes),
      '127.0.0.1:7000\n127.0.0.1:7001',
    );
    assert.equal(parseMemoryQuantity('1Gi', 'x'), 1024 ** 3);
    assert.equal(parseMemoryQuantity('500M', 'x'), 5e8);
    assert.throws(() => parseMemoryQuantity('lots', 'limits.memory'), /limits.memory: "lots"/);
  });
});

describe('deploy.yml as the rehearsal plays it', () => {
  const workflow = readWorkflow(join(repoRoot, '.github/workflows/deploy.yml'));

  test('every job in order, and every ./actions step is one the rehearsal has a stand-in for', () => {
    const ids = workflow.jobs.map((j) => j.id);
    for (const job of workflow.jobs)
      for (const n of job.needs) assert.ok(ids.indexOf(n) < ids.indexOf(job.id), `${job.id} needs ${n}`);
    const actions = new Set(
      workflow.jobs.flatMap((j) =>
        j.steps.flatMap((s) => (s.uses?.startsWith('./actions/') ? [s.uses] : [])),
      ),
    );
    assert.deepEqual([...actions].sort(), [
      './actions/argocd-sync',
      './actions/build-image',
      './actions/k6-loadtest',
      './actions/render-manifests',
      './actions/slo-gate',
    ]);
  });

  test('inputs and conditions evaluate like the runner: vars over the call inputs, step outputs, failure() for rollback', () => {
    const staging = workflow.jobs.find((j) => j.id === 'staging')!;
    assert.equal(staging.call?.id, 'deploy', 'deploy.yml job deploy calls reusable-deploy.yml');
    const k6 = staging.steps.find((s) => s.uses === './actions/k6-loadtest')!;
    const vars = { LOADTEST_VUS: '30' };
    const inputs = callInputs(staging.call!, { vars, secrets: {} });
    assert.equal(inputs['loadtest-vus'], 0, 'a number input keeps its declared default: 0 means unset');
    assert.equal(interpolate(k6.with.vus!, { vars: {}, inputs }), '100');
    const given = callInputs(
      { ...staging.call!, with: { ...staging.call!.with, 'loadtest-vus': 7 } },
      { vars },
    );
    assert.equal(interpolate(k6.with.vus!, { vars, inputs: given }), '7', 'an input the caller passes wins');
    const ctx = { vars, inputs, secrets: {}, env: staging.call!.env, needs: {} };
    assert.equal(interpolate(k6.with.vus!, ctx), '30');
    assert.equal(interpolate(k6.with.duration!, ctx), '5m');
    const gate = staging.steps.find((s) => s.uses === './actions/slo-gate')!;
    assert.equal(interpolate(gate.with.selector!, ctx), 'namespace="switchboard-staging"');
    const rollback = staging.steps.find((s) => s.name === 'Restore the previous staging render')!;
    const steps = { render: { outputs: { changed: 'true', 'previous-commit': 'abc123' } } };
    assert.equal(condition(rollback.if, { steps }, { success: false, failure: true }), true);
    assert.equal(condition(rollback.if, { steps }, { success: true, failure: false }), false);
    assert.equal(
      condition(undefined, {}, { success: false, failure: true }),
      false,
      'no if: means success()',
    );
  });
});

describe('summaries and the decision', () => {
  test('job-summary sections render as markdown: code, escaped pipes, lists', () => {
    assert.equal(htmlToMarkdown('<code>a &amp; b</code> &#60;x&#62;'), '`a & b` <x>');
    const md = sectionsToMarkdown([
      { heading: 'Gate', level: 2, table: keyValueTable([['Query', code('rate(x[5m]) | y')]]) },
      { heading: 'More', table: table(['A'], [['1']]), list: ['one'] },
    ]);
    assert.match(
      md,
      /^## Gate\n\n\| Field \| Value \|\n\| --- \| --- \|\n\| Query \| `rate\(x\[5m\]\) \\\| y` \|/,
    );
    assert.match(md, /### More[\s\S]*\| 1 \|[\s\S]*- one/);
  });

  test('a fault is caught only when the gate failed every objective it must break', () => {
    const result = (name: string, verdict: 'pass' | 'fail') => ({
      name,
      description: '',
      query: '',
      comparator: '<=' as const,
      limit: 0.001,
      unit: 'ratio',
      value: verdict === 'pass' ? 0 : 0.09,
      verdict,
      reason: 'x',
    });
    const gate = (verdict: 'pass' | 'fail', ...results: ReturnType<typeof result>[]) => ({
      verdict,
      results,
    });
    const caught = decide({
      promoted: false,
      jobs: [],
      gate: gate('fail', result('slow-consumer-closes', 'fail')),
      fault: findFault('slow-consumer'),
    });
    assert.equal(caught.faultCaught, true);
    assert.match(caught.lines.join('\n'), /the SLO gate failed slow-consumer-closes, as expected/);
    const wrong = decide({
      promoted: false,
      jobs: [],
      gate: gate('fail', result('delivery-latency', 'fail'), result('server-availability', 'pass')),
      fault: findFault('kill-node'),
    });
    assert.equal(wrong.faultCaught, false);
    assert.match(wrong.lines.join('\n'), /did NOT fail server-availability \(it failed delivery-latency\)/);
    const sessions = decide({
      promoted: false,
      jobs: [],
      gate: gate('fail', result('cross-node-delivery', 'fail')),
      fault: findFault('redis-down'),
      sessions: true,
    });
    assert.equal(sessions.faultCaught, false, 'with sessions redis-down must break join-success too');
    assert.throws(
      () => findFault('disk-full'),
      /choose one of latency, kill-node, redis-down, slow-consumer/,
    );
  });

  test("every fault's expected objectives exist in slo/generated/gate.json", () => {
    const gate = JSON.parse(readFileSync(join(repoRoot, 'slo/generated/gate.json'), 'utf8')) as {
      objectives: { name: string }[];
      loadTestObjectives: { name: string }[];
    };
    const names = [...gate.objectives, ...gate.loadTestObjectives].map((o) => o.name);
    for (const name of faultNames) {
      for (const o of [
        ...faults[name].gateObjectives,
        ...(faults[name].withSessions?.gateObjectives ?? []),
      ]) {
        assert.ok(names.includes(o), `${name} expects ${o}, not in gate.json`);
      }
    }
  });

  test('a ride-through must promote; an exclusive fault must fail its objectives and no other', () => {
    const ride = faults['rolling-drain'];
    const broken = faults['broken-recovery'];
    const judged = (failed: string[]) => ({
      verdict: (failed.length ? 'fail' : 'pass') as 'pass' | 'fail',
      results: ['recovery-success', 'messages-lost', 'join-success'].map((name) => ({
        name,
        description: '',
        query: '',
        comparator: '>=' as const,
        limit: 0.999,
        unit: 'ratio',
        value: failed.includes(name) ? 0.5 : 1,
        verdict: (failed.includes(name) ? 'fail' : 'pass') as 'pass' | 'fail',
        reason: '',
      })),
    });
    const promoted = decide({ promoted: true, jobs: [], gate: judged([]), fault: ride });
    assert.equal(promoted.faultAsExpected, true);
    assert.equal(promoted.faultCaught, undefined);
    assert.equal(
      decide({ promoted: false, jobs: [], gate: judged(['join-success']), fault: ride }).faultAsExpected,
      false,
    );
    const only = decide({
      promoted: false,
      jobs: [],
      gate: judged(['recovery-success', 'messages-lost']),
      fault: broken,
    });
    assert.deepEqual([only.faultCaught, only.faultAsExpected], [true, true]);
    const more = decide({
      promoted: false,
      jobs: [],
      gate: judged(['recovery-success', 'messages-lost', 'join-success']),
      fault: broken,
    });
    assert.deepEqual([more.faultCaught, more.faultAsExpected], [false, false]);
    assert.match(more.lines.at(-1) ?? '', /failed join-success too/);
  });

  test("a bad release is caught only by production's verification failing join-success alone, then a rollback", () => {
    const bad = faults['bad-release'];
    const judged = (failed: string[]) => ({
      verdict: (failed.length ? 'fail' : 'pass') as 'pass' | 'fail',
      results: ['join-success', 'delivery-latency'].map((name) => ({
        name,
        description: '',
        query: '',
        comparator: '>=' as const,
        limit: 0.999,
        unit: 'ratio',
        value: failed.includes(name) ? 0.3 : 1,
        verdict: (failed.includes(name) ? 'fail' : 'pass') as 'pass' | 'fail',
        reason: '',
      })),
    });
    // Staging's gate passes (it cannot see the release); production's verification decides.
    const rolled = decide({
      promoted: false,
      jobs: [],
      gate: judged([]),
      fault: bad,
      verification: judged(['join-success']),
      rolledBack: true,
    });
    assert.deepEqual([rolled.rolledBack, rolled.faultCaught, rolled.faultAsExpected], [true, true, true]);
    assert.match(
      rolled.lines[0] ?? '',
      /^ROLLED BACK: .*verification after the sync fail on join-success \(0\.3\)/,
    );
    const kept = decide({
      promoted: true,
      jobs: [],
      gate: judged([]),
      fault: bad,
      verification: judged(['join-success']),
      rolledBack: false,
    });
    assert.deepEqual([kept.faultCaught, kept.faultAsExpected], [true, false]);
    const more = decide({
      promoted: false,
      jobs: [],
      gate: judged([]),
      fault: bad,
      verification: judged(['join-success', 'delivery-latency']),
      rolledBack: true,
    });
    assert.equal(more.faultAsExpected, false);
    const never = decide({ promoted: false, jobs: [], gate: judged(['delivery-latency']), fault: bad });
    assert.equal(never.faultAsExpected, false);
    assert.match(never.lines.at(-1) ?? '', /verification never ran/);
  });
});

test("the rehearsal's verification compares every gate objective with the previous release but latency", () => {
  const compared = rehearsalComparedObjectives(repoRoot).split(',');
  assert.ok(compared.includes('join-success') && compared.includes('ws-connect-success'), compared.join());
  assert.ok(!compared.includes('delivery-latency'), compared.join());
  // Only objectives judged from Prometheus (slo-gate refuses others in baseline-objectives).
  assert.ok(!compared.includes('messages-lost') && !compared.includes('reconnect-p99'), compared.join());
});

test("the neighbour's rooms: the deploy's, at most one per two VUs, so every room has a member besides its publisher", () => {
  const rollout = { scenario: 'rollout', env: {} };
  // --short: 30 VUs, a fifth for the neighbour; the rollout scenario's 5 rooms become 3.
  assert.equal(neighbourVus(30), 6);
  assert.equal(neighbourRooms(rollout, 6), 3);
  assert.equal(neighbourRooms(rollout, 20), 5, "enough VUs: the deploy's rooms");
  assert.equal(neighbourRooms({ scenario: 'rollout', env: { ROOMS: '2' } }, 6), 2, 'its env wins');
  assert.equal(neighbourRooms({ scenario: 'constructor', env: {} }, 6), undefined, 'no rooms: left alone');
});
