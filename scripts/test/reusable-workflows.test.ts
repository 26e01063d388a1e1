// The reusable workflows (docs/reusable-workflows.md): deploy.yml, loadtest.yml and preview.yml are
// thin callers; the calls pass what the called workflows declare and grant what their jobs ask for;
// the docs' example caller passes the same checks; the rehearsal plays a call as GitHub runs it.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { parse } from 'yaml';
import { playWorkflow, type PlayerOptions } from '../lib/rehearse/player.js';
import { readWorkflow } from '../lib/rehearse/workflow.js';
import { checkCall, readCallTrigger, type CallingJob } from './workflow-call-checks.js';
import { checkWorkflow } from './workflow-checks.js';
import { repoRoot } from './validate-fixtures.js';

const dir = join(repoRoot, '.github/workflows');
const callers = { 'deploy.yml': 'deploy', 'loadtest.yml': 'loadtest', 'preview.yml': 'preview' };
const docs = readFileSync(join(repoRoot, 'docs/reusable-workflows.md'), 'utf8');
/** The docs' example caller: the yaml block after the `example-caller` marker. */
const example = /<!-- example-caller -->\s*```yaml\n([\s\S]*?)```/.exec(docs)?.[1] ?? '';

describe('the callers and the reusable workflows', () => {
  test('each caller is one job that calls reusable-<name>.yml, with no steps of its own', () => {
    for (const [file, job] of Object.entries(callers)) {
      const wf = parse(readFileSync(join(dir, file), 'utf8')) as { jobs: Record<string, CallingJob> };
      assert.deepEqual(Object.keys(wf.jobs), [job], file);
      assert.equal(wf.jobs[job]!.uses, `./.github/workflows/reusable-${job}.yml`, file);
      assert.equal((wf.jobs[job] as { steps?: unknown }).steps, undefined, file);
    }
  });

  test('the reusable workflows run only when called, and name no team', () => {
    for (const job of Object.values(callers)) {
      const file = `reusable-${job}.yml`;
      const text = readFileSync(join(dir, file), 'utf8');
      assert.deepEqual(Object.keys((parse(text) as { on: object }).on), ['workflow_call'], file);
      for (const name of [
        'switchboard/switchboard',
        'ghcr.io/switchboard',
        'example.com',
        'namespace="switchboard-',
        "'switchboard-{0}'",
        "|| 'switchboard' }}",
      ])
        assert.ok(!text.includes(name), `${file} names ${name}`);
    }
  });

  test('the call checks catch an undeclared or missing input, an undeclared secret, a missing grant, a key GitHub refuses', () => {
    const call: CallingJob & { environment: string } = {
      uses: './.github/workflows/reusable-deploy.yml',
      environment: 'staging',
      permissions: { contents: 'read' },
      with: { image: 'x', 'staging-namespace': 'ns', 'loadtest-users': 5 },
      secrets: { ARGOCD_TOKEN: 'x', SLACK_TOKEN: 'y' },
    };
    const problems = checkCall('c.yml job d', call, repoRoot).join('\n');
    for (const expected of [
      /has no input "loadtest-users"/,
      /needs input "manifest-image"/,
      /declares no secret "SLACK_TOKEN"/,
      /called job build asks for packages: write, which the calling job does not grant/,
      /called job staging asks for contents: write/,
      /a job that calls a workflow cannot have "environment"/,
    ])
      assert.match(problems, expected);
    assert.match(
      checkCall('c.yml job d', { uses: 'acme/chat/.github/workflows/x.yml@v1' }, repoRoot).join(''),
      /not a workflow of this repository/,
    );
  });

  test('every input, secret and output of the reusable workflows is in docs/reusable-workflows.md', () => {
    for (const job of Object.values(callers)) {
      const read = readCallTrigger(join(dir, `reusable-${job}.yml`));
      assert.ok(typeof read !== 'string', read as string);
      const { inputs = {}, secrets = {}, outputs = {} } = read.trigger;
      for (const name of [...Object.keys(inputs), ...Object.keys(secrets), ...Object.keys(outputs)])
        assert.ok(docs.includes(`\`${name}\``), `reusable-${job}.yml: ${name}`);
    }
  });
});

describe("the docs' example caller", () => {
  test('passes the workflow checks, the call checks and GitHub’s workflow parser', () => {
    assert.match(example, /uses: \.\/\.github\/workflows\/reusable-deploy\.yml/);
    assert.deepEqual(checkWorkflow('example.yml', example, repoRoot), []);
    const parsed = parseWorkflow({ name: 'example.yml', content: example }, new NoOperationTraceWriter());
    assert.deepEqual(
      parsed.context.errors.getErrors().map((e) => e.message),
      [],
    );
  });

  test('an input it passes that reusable-deploy.yml does not declare, or a required one it omits, fails', () => {
    const typo = example.replace('loadtest-vus: 300', 'loadtest-users: 300');
    const missing = example.replace(/ {6}manifest-image: .*\n/, '');
    assert.notEqual(typo, example);
    assert.notEqual(missing, example);
    assert.match(checkWorkflow('example.yml', typo, repoRoot).join('\n'), /has no input "loadtest-users"/);
    assert.match(checkWorkflow('example.yml', missing, repoRoot).join('\n'), /needs input "manifest-image"/);
  });
});

describe('the rehearsal plays a call as GitHub runs it', () => {
  test('the callers read as the called jobs, in order', () => {
    const ids = (file: string) => readWorkflow(join(dir, file)).jobs.map((j) => `${j.call?.id}/${j.id}`);
    assert.deepEqual(ids('deploy.yml'), [
      'deploy/build',
      'deploy/dev',
      'deploy/staging',
      'deploy/production',
      'deploy/summary',
    ]);
    assert.deepEqual(ids('loadtest.yml'), ['loadtest/loadtest']);
    assert.deepEqual(ids('preview.yml'), ['preview/image', 'preview/preview', 'preview/cleanup']);
  });

  /** Plays `caller` (with `called` beside it as reusable-x.yml); returns the records and the log. */
  async function play(caller: string, called: string) {
    const tmp = mkdtempSync(join(tmpdir(), 'sb-call-'));
    writeFileSync(join(tmp, 'caller.yml'), caller);
    writeFileSync(join(tmp, 'reusable-x.yml'), called);
    const lines: string[] = [];
    const opts: PlayerOptions = {
      contexts: () => ({
        github: { event_name: 'push' },
        vars: { SIZE: '3' },
        secrets: { GITHUB_TOKEN: 'gh', KEPT: 'kept', OTHER: 'other' },
      }),
      handlers: {},
      workspace: tmp,
      tempDir: tmp,
      baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      print: (l) => lines.push(l),
      onSummary: async () => undefined,
      onRunSummary: async () => undefined,
      stepSummaryPath: join(tmp, 'summary'),
      numbering: { label: '' },
    };
    const records = await playWorkflow(readWorkflow(join(tmp, 'caller.yml')), opts);
    return { records, log: lines.join('\n') };
  }

  const called = `on:
  workflow_call:
    inputs:
      size: { type: number, required: true }
      fast: { type: boolean, default: false }
      label: { type: string, default: plain }
    secrets:
      KEPT: { required: false }
    outputs:
      said: { value: '\${{ jobs.b.outputs.said }}' }
env:
  WHERE: called
jobs:
  a:
    runs-on: ubuntu-24.04
    outputs:
      doubled: \${{ steps.s.outputs.doubled }}
    steps:
      - id: s
        env:
          SIZE: \${{ inputs.size }}
        run: echo "doubled=$((SIZE * 2))" >> "$GITHUB_OUTPUT"
  b:
    needs: a
    if: \${{ !inputs.fast }}
    runs-on: ubuntu-24.04
    outputs:
      said: \${{ steps.s.outputs.said }}
    steps:
      - id: s
        env:
          SAID: '\${{ needs.a.outputs.doubled }} \${{ inputs.label }} \${{ env.WHERE }} \${{ secrets.KEPT }}/\${{ secrets.OTHER }}/\${{ secrets.GITHUB_TOKEN }}'
        run: echo "said=$SAID" >> "$GITHUB_OUTPUT"
`;
  const caller = (withText: string, ifText = '') => `on: push
env:
  WHERE: caller
jobs:
  first:
    runs-on: ubuntu-24.04
    outputs:
      n: \${{ steps.n.outputs.n }}
    steps:
      - id: n
        run: echo "n=\${{ vars.SIZE }}" >> "$GITHUB_OUTPUT"
  call:
    needs: first${ifText}
    uses: ./.github/workflows/reusable-x.yml
    with:
${withText}
    secrets:
      KEPT: \${{ secrets.KEPT }}
  last:
    needs: call
    runs-on: ubuntu-24.04
    outputs:
      got: \${{ needs.call.outputs.said }}
    steps:
      - run: 'true'
`;

  test('typed inputs with defaults, only the passed secrets, its own env, outputs through needs', async () => {
    const { records } = await play(
      caller('      size: ${{ needs.first.outputs.n }}\n      fast: false'),
      called,
    );
    assert.equal(records.get('a')?.outputs.doubled, '6', 'a number input from the caller’s needs');
    // label's default, the called workflow's env (not the caller's), KEPT passed, OTHER not, GITHUB_TOKEN always.
    assert.equal(records.get('b')?.outputs.said, '6 plain called kept//gh');
    assert.equal(records.get('call')?.result, 'success');
    assert.equal(records.get('last')?.outputs.got, '6 plain called kept//gh');
  });

  test('a boolean input as a condition, and a caller condition that skips every called job', async () => {
    const fast = await play(caller('      size: 1\n      fast: true'), called);
    assert.equal(fast.records.get('b')?.result, 'skipped');
    const never = await play(caller('      size: 1', "\n    if: github.event_name == 'schedule'"), called);
    assert.deepEqual(
      ['a', 'b', 'call'].map((id) => never.records.get(id)?.result),
      ['skipped', 'skipped', 'skipped'],
    );
  });

  test('an undeclared input or a missing required one stops the play, naming it', async () => {
    await assert.rejects(
      play(caller('      size: 1\n      sise: 2'), called),
      /input "sise", which it does not declare/,
    );
    await assert.rejects(play(caller('      fast: true'), called), /without its required input "size"/);
  });
});
