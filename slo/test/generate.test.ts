// `npm run slo:generate` / `npm run slo:check`: the committed artefacts are what objectives.yaml
// generates, the check names every stale, missing or orphaned file, and the k6 and gate files
// have exactly the shape their consumers read.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import { tempDir } from '../../testkit/src/index.js';
import { promqlSyntaxErrors, selectors } from '../src/promql.js';
import { repoRoot } from '../src/outputs/index.js';
import { ownedFiles } from '../src/tree.js';

function run(
  script: 'generate' | 'check',
  args: string[],
): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', `slo/src/${script}.ts`, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

/** A copy of the SLO source and every committed generated file, to break without touching the repo. */
function copyOfRepo(): string {
  const root = tempDir('slo-check');
  const paths = ['slo/objectives.yaml', 'loadtests/lib/thresholds.generated.ts', ...ownedFiles(repoRoot)];
  for (const p of paths) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    cpSync(join(repoRoot, p), join(root, p));
  }
  return root;
}

test('npm run slo:check passes on the committed files', () => {
  const r = spawnSync('npm', ['run', '-s', 'slo:check'], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /SLO artefacts match slo\/objectives.yaml/);
});

test('slo:check names a stale, a missing and an orphaned generated file', () => {
  const root = copyOfRepo();
  assert.equal(run('check', ['--root', root]).status, 0, 'the untouched copy must pass');
  const gate = join(root, 'slo/generated/gate.json');
  writeFileSync(gate, readFileSync(gate, 'utf8').replace('"limit": 0.999', '"limit": 0.99'));
  rmSync(join(root, 'base/monitoring/generated/prometheus-rule.yaml'));
  writeFileSync(join(root, 'slo/generated/dashboards/switchboard-old.json'), '{}\n');
  const r = run('check', ['--root', root]);
  assert.equal(r.status, 1);
  assert.match(r.err, /run `npm run slo:generate` and commit/);
  assert.match(r.err, /slo\/generated\/gate.json: stale/);
  assert.match(r.err, /base\/monitoring\/generated\/prometheus-rule.yaml: missing/);
  assert.match(r.err, /slo\/generated\/dashboards\/switchboard-old.json: no longer generated/);
  assert.doesNotMatch(r.err, /rules.yaml/, 'only the broken files are named');
});

test('changing an objective without regenerating makes every file that states it stale; generate fixes it', () => {
  const root = copyOfRepo();
  const source = join(root, 'slo/objectives.yaml');
  writeFileSync(source, readFileSync(source, 'utf8').replace('target: 0.99\n', 'target: 0.995\n'));
  const stale = run('check', ['--root', root]);
  assert.equal(stale.status, 1);
  for (const f of [
    'slo/generated/rules.yaml',
    'slo/generated/gate.json',
    'base/monitoring/generated/prometheus-rule.yaml',
    'loadtests/lib/thresholds.generated.ts',
  ]) {
    assert.match(stale.err, new RegExp(`${f}: stale`));
  }
  const generated = run('generate', ['--objectives', source, '--out', root]);
  assert.equal(generated.status, 0, generated.err);
  assert.equal(run('check', ['--root', root]).status, 0);
  assert.match(
    readFileSync(join(root, 'loadtests/lib/thresholds.generated.ts'), 'utf8'),
    /'p\(99\.5\)<=250'/,
  );
});

test('generation is deterministic: two runs write the same bytes', () => {
  const [one, two] = [tempDir('slo-gen'), tempDir('slo-gen')];
  for (const out of [one, two]) assert.equal(run('generate', ['--out', out]).status, 0);
  const files = ownedFiles(one);
  assert.deepEqual(files, ownedFiles(two));
  for (const f of files)
    assert.equal(readFileSync(join(one, f), 'utf8'), readFileSync(join(two, f), 'utf8'), f);
});

test('a bad objectives file stops the generator with the field named, no stack trace', () => {
  const dir = tempDir('slo-bad');
  const bad = join(dir, 'objectives.yaml');
  writeFileSync(
    bad,
    readFileSync(join(repoRoot, 'slo/objectives.yaml'), 'utf8').replace('target: 0.99\n', 'target: 99\n'),
  );
  const r = run('generate', ['--objectives', bad, '--out', dir]);
  assert.equal(r.status, 1);
  assert.match(r.err, /objectives\[2\] \(delivery-latency\) field "target": must be < 1/);
  assert.doesNotMatch(r.err, /^\s+at /m);
});

test('the k6 thresholds module has the shape the load tests import, and no imports', async () => {
  const file = join(repoRoot, 'loadtests/lib/thresholds.generated.ts');
  assert.doesNotMatch(readFileSync(file, 'utf8'), /^\s*import\b/m);
  const mod = (await import(pathToFileURL(file).href)) as {
    thresholds: Record<string, string[]>;
    objectives: { name: string; description: string; target: number }[];
  };
  assert.deepEqual(mod.thresholds, {
    ws_connect_success: ['rate>=0.999'],
    phx_join_success: ['rate>=0.999'],
    phx_delivery_latency: ['p(99)<=250'],
    phx_errors: ['rate<=0.001'],
    continuity_messages_lost: ['count<=0'],
    continuity_reconnect_time: ['p(99)<=5000'],
  });
  assert.deepEqual(
    mod.objectives.map((o) => [o.name, o.target, typeof o.description]),
    [
      ['ws-connect-success', 0.999, 'string'],
      ['join-success', 0.999, 'string'],
      ['delivery-latency', 0.99, 'string'],
      ['server-errors', 0.999, 'string'],
      ['messages-lost', undefined, 'string'],
      ['reconnect-p99', undefined, 'string'],
    ],
  );
});

test('gate.json has exactly the shape the slo-gate action reads, with parseable $window queries', () => {
  const gate: unknown = JSON.parse(readFileSync(join(repoRoot, 'slo/generated/gate.json'), 'utf8'));
  const validate = new Ajv({ allErrors: true }).compile({
    type: 'object',
    additionalProperties: false,
    required: ['version', 'objectives', 'loadTestObjectives'],
    properties: {
      version: { const: 1 },
      loadTestObjectives: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: [
            'name',
            'description',
            'metric',
            'aggregation',
            'comparator',
            'limit',
            'unit',
            'optional',
          ],
          properties: {
            name: { type: 'string', minLength: 1 },
            description: { type: 'string', minLength: 1 },
            metric: { type: 'string', pattern: '^[a-z][a-z0-9_]*$' },
            aggregation: { type: 'string', minLength: 1 },
            comparator: { const: '<=' },
            limit: { type: 'number' },
            unit: { enum: ['count', 'ratio', 'ms'] },
            optional: { type: 'boolean' },
          },
        },
      },
      objectives: {
        type: 'array',
        minItems: 1,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'description', 'query', 'comparator', 'limit', 'unit'],
          properties: {
            name: { type: 'string', minLength: 1 },
            description: { type: 'string', minLength: 1 },
            query: { type: 'string', pattern: '\\[\\$window\\]' },
            comparator: { enum: ['>=', '<='] },
            limit: { type: 'number' },
            unit: { enum: ['ratio', 'seconds'] },
            optional: { const: true },
            exercised: { type: 'string', pattern: '\\[\\$window\\]' },
          },
        },
      },
    },
  });
  assert.ok(validate(gate), JSON.stringify(validate.errors));
  const { objectives } = gate as {
    objectives: { name: string; query: string; comparator: string; limit: number }[];
  };
  for (const o of objectives) assert.deepEqual(promqlSyntaxErrors(o.query), [], o.name);
  // One Prometheus holds every environment: each selector of a gate query carries the gate's
  // environment selector, or the gate would judge staging on production's traffic too.
  for (const o of objectives) {
    const found = selectors(o.query);
    assert.ok(found.length > 0, o.name);
    for (const sel of found) assert.ok(sel.scoped, `${o.name}: ${sel.name ?? '?'} has no $selector`);
  }
  assert.deepEqual(
    objectives.map((o) => [o.name, o.comparator, o.limit]),
    [
      ['ws-connect-success', '>=', 0.999],
      ['join-success', '>=', 0.999],
      ['delivery-latency', '<=', 0.25],
      ['server-errors', '<=', 0.001],
      ['server-availability', '>=', 0.999],
      ['cross-node-delivery', '<=', 0.001],
      ['slow-consumer-closes', '<=', 0.001],
      ['recovery-success', '>=', 0.999],
    ],
  );
  // Optional: no rejoin in the window is "not exercised", told apart from unscraped series by `exercised`.
  assert.equal(
    (objectives[7] as { exercised?: string }).exercised,
    'sum(rate(switchboard_recoveries_total{$selector}[$window]))',
  );
  assert.equal(objectives[4]!.query, 'avg(avg_over_time(up{job="switchboard",$selector}[$window]))');
  assert.match(
    objectives[2]!.query,
    /^histogram_quantile\(0\.99, sum by \(le\) \(rate\(switchboard_delivery_latency_seconds_bucket\{\$selector\}\[\$window\]\)\)\)$/,
  );
});
