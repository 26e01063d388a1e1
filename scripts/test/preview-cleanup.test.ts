// The scheduled preview clean-up in .github/workflows/reusable-preview.yml (preview.yml calls it),
// run as the runner would (bash, curl, jq) against fakes of Argo CD and GitHub that check every
// request and response against their API descriptions (Argo CD's Swagger, GitHub's OpenAPI): open
// pull requests keep their preview, closed ones lose the Application (cascade) and get their
// deployments marked inactive.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { parse } from 'yaml';
import {
  OpenApi3Validator,
  Swagger2Validator,
  ValidatingHttpFake,
  type FakeRequest,
  type FakeResponse,
} from '../../pipeline/src/testing/index.js';
import { $, run } from '../lib/zx.js';
import { repoRoot } from './validate-fixtures.js';

interface Step {
  name?: string;
  run?: string;
}
const workflow = parse(readFileSync(join(repoRoot, '.github/workflows/reusable-preview.yml'), 'utf8')) as {
  jobs: { cleanup: { steps: Step[] } };
};
const script = workflow.jobs.cleanup.steps.find((s) => s.name === 'Sweep')?.run ?? '';

/** GitHub's own examples from its description, so responses have every field the schema requires. */
const examples = (
  JSON.parse(
    readFileSync(
      join(
        createRequire(import.meta.url).resolve('@octokit/openapi/package.json'),
        '../generated/api.github.com.json',
      ),
      'utf8',
    ),
  ) as { components: { examples: Record<string, { value: unknown }> } }
).components.examples;
const example = <T>(name: string): T => structuredClone(examples[name]!.value) as T;

const openPullRequests = new Set([11]);
const deploymentsOf: Record<string, number[]> = { 'pr-12': [501, 502], 'pr-11': [401] };
let argocd: ValidatingHttpFake;
let github: ValidatingHttpFake;

function argocdRoutes(req: FakeRequest): FakeResponse {
  if (req.headers.authorization !== 'Bearer argocd-test-token')
    return { status: 401, body: { error: 'no', code: 16 } };
  switch (req.operation?.operationId) {
    case 'ApplicationService_List':
      assert.equal(req.query.get('selector'), 'switchboard.dev/preview=true');
      return {
        status: 200,
        body: {
          metadata: {},
          items: [
            { metadata: { name: 'switchboard-pr-11', labels: { 'switchboard.dev/pull-request': '11' } } },
            { metadata: { name: 'switchboard-pr-12', labels: { 'switchboard.dev/pull-request': '12' } } },
            { metadata: { name: 'hand-made-preview', labels: { 'switchboard.dev/preview': 'true' } } },
          ],
        },
      };
    case 'ApplicationService_Delete':
      return { status: 200, body: {} };
    default:
      return { status: 404, body: { error: 'not here', code: 5 } };
  }
}

function githubRoutes(req: FakeRequest): FakeResponse {
  if (req.headers.authorization !== 'Bearer gh-test-token')
    return { status: 401, body: { message: 'Bad credentials' } };
  const params = req.operation?.pathParams ?? {};
  switch (req.operation?.operationId) {
    case 'pulls/get': {
      const number = Number(params.pull_number);
      const pr = example<{ number: number; state: string; merged: boolean }>('pull-request');
      // GitHub's example lists requested_teams without the `type` its schema now requires: none here.
      const state = openPullRequests.has(number) ? 'open' : 'closed';
      return { status: 200, body: { ...pr, number, state, requested_teams: [] } };
    }
    case 'repos/list-deployments': {
      const ids = deploymentsOf[req.query.get('environment') ?? ''] ?? [];
      const template = example<{ id: number }[]>('deployment-items')[0]!;
      return { status: 200, body: ids.map((id) => ({ ...template, id })) };
    }
    case 'repos/create-deployment-status':
      return { status: 201, body: { ...example<object>('deployment-status'), state: 'inactive' } };
    default:
      return { status: 404, body: { message: 'Not Found' } };
  }
}

before(async () => {
  argocd = await new ValidatingHttpFake({
    name: 'argocd',
    validator: Swagger2Validator.load(),
    handler: argocdRoutes,
  }).start();
  github = await new ValidatingHttpFake({
    name: 'github',
    validator: OpenApi3Validator.github(),
    handler: githubRoutes,
  }).start();
});
after(async () => {
  await argocd?.close();
  await github?.close();
});

it('removes the previews of closed pull requests and marks their deployments inactive; keeps open ones', async () => {
  assert.ok(script.includes('curl'), 'the Sweep step exists');
  const dir = mkdtempSync(join(tmpdir(), 'preview-sweep-'));
  const summary = join(dir, 'summary.md');
  writeFileSync(summary, '');
  const sweep = run(
    $({
      env: {
        PATH: process.env.PATH,
        ARGOCD_SERVER: `${argocd.url}/`,
        ARGOCD_TOKEN: 'argocd-test-token',
        GH_TOKEN: 'gh-test-token',
        GITHUB_API_URL: github.url,
        GITHUB_REPOSITORY: 'acme/switchboard',
        GITHUB_STEP_SUMMARY: summary,
      },
      timeout: 60_000,
    })`bash -e -c ${script}`,
  );
  const { stdout } = await sweep.catch((error: Error) => {
    // A spec violation answers 500 and curl fails: show the violation, not just curl's exit.
    argocd.assertNoViolations();
    github.assertNoViolations();
    throw error;
  });
  argocd.assertNoViolations();
  github.assertNoViolations();
  assert.match(stdout, /keep switchboard-pr-11: pull request #11 is open/);
  assert.match(stdout, /remove switchboard-pr-12: pull request #12 is closed/);
  assert.match(stdout, /::warning::hand-made-preview has no switchboard.dev\/pull-request label; left alone/);
  const deletes = argocd.exchanges.filter((e) => e.operationId === 'ApplicationService_Delete');
  assert.deepEqual(
    deletes.map((e) => e.url),
    ['/api/v1/applications/switchboard-pr-12?cascade=true'],
  );
  const statuses = github.exchanges.filter((e) => e.operationId === 'repos/create-deployment-status');
  assert.deepEqual(
    statuses.map((e) => [e.pathname, (e.requestBody as { state: string }).state]),
    [
      ['/repos/acme/switchboard/deployments/501/statuses', 'inactive'],
      ['/repos/acme/switchboard/deployments/502/statuses', 'inactive'],
    ],
  );
  assert.equal(readFileSync(summary, 'utf8'), 'removed 1 preview(s)\n');
});

it('fails loudly when Argo CD refuses the token, removing nothing', async () => {
  const before = argocd.exchanges.length;
  await assert.rejects(
    run(
      $({
        env: {
          PATH: process.env.PATH,
          ARGOCD_SERVER: argocd.url,
          ARGOCD_TOKEN: 'wrong',
          GH_TOKEN: 'gh-test-token',
          GITHUB_API_URL: github.url,
          GITHUB_REPOSITORY: 'acme/switchboard',
          GITHUB_STEP_SUMMARY: '/dev/null',
        },
      })`bash -e -c ${script}`,
    ),
    /error: 401|returned error: 401|401/,
  );
  assert.equal(
    argocd.exchanges.slice(before).filter((e) => e.operationId === 'ApplicationService_Delete').length,
    0,
  );
});
