// Plays preview.yml for one pull request's life -- opened, a push (synchronize), closed -- with the
// same actions (build-image, preview-env), GitHub's own event payloads (events.ts), a stand-in Argo CD
// (argocd-standin.ts) that renders and syncs the preview Application onto the stand-in cluster
// (preview-cluster.ts), and a stand-in GitHub API. After each event the rehearsal checks what a
// reviewer would see (preview-checks.ts). Returns the exit status: 0 every job and check passed, 2 one
// failed.
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { startFakeGitHub } from '../../../pipeline/src/testing/fake-github.js';
import { startRegistry } from '../../../testkit/src/index.js';
import { buildBase, removeImages } from '../../../pipeline/src/image/index.js';
import { $, run, zxRunner } from '../zx.js';
import { prepareRepos } from './checkout.js';
import { StandInArgoCd } from './argocd-standin.js';
import { pullRequestEvent, type PullRequestEventInput } from './events.js';
import { playWorkflow, type PlayerOptions } from './player.js';
import {
  checkClosedPreview,
  checkOpenPreview,
  type CheckResult,
  type ExpectedPreview,
} from './preview-checks.js';
import { PreviewCluster } from './preview-cluster.js';
import { previewBuildHandler, previewEnvHandler, type PreviewHandlerState } from './preview-handlers.js';
import { formatDuration } from './progress.js';
import { StepSummary } from './summary-text.js';
import type { WorkflowRehearsal } from './workflow-kind.js';
import { readWorkflow } from './workflow.js';
import { rehearsalNames } from './adopter.js';

const NUMBER = 7;

async function git(cwd: string, args: string[]): Promise<string> {
  return (await run($({ cwd })`git ${args}`)).stdout.trim();
}

/** Rehearses preview.yml; resolves with the exit status. */
export async function rehearsePreview(r: WorkflowRehearsal): Promise<number> {
  const { print, teardown } = r;
  // The stand-in GitHub's repository and the preview host are the configured ones (adopter.ts).
  const names = rehearsalNames(r.root);
  const REPOSITORY = names.repository;
  const URL_TEMPLATE = names.previewUrlTemplate;
  const started = Date.now();
  const workflow = readWorkflow(r.workflowPath);
  const summary = new StepSummary(join(r.summaryDir, 'job-summary.md'), join(r.summaryDir, 'rehearsal.md'));
  print(
    `rehearse: ${r.workflowPath.startsWith(r.root) ? relative(r.root, r.workflowPath) : r.workflowPath}: pull request #${NUMBER} opened, pushed, closed; summaries in ${r.summaryDir}`,
  );

  // Prepare: registry and base image (unless --skip-image), a throwaway repository whose branch
  // `feature` has the pull request's two head commits.
  let registry;
  let baseImage = '';
  if (!r.skipImage) {
    registry = await startRegistry();
    teardown.add('registry', () => registry!.stop());
    baseImage = `localhost/node-base:rehearsal-${r.runId}`;
    teardown.add('base image', () => removeImages([baseImage], zxRunner));
    print('prepare: Node base image from this machine ...');
    await buildBase({ tag: baseImage, runner: zxRunner });
  }
  const repos = await prepareRepos(r.root, ['base', 'overlays'], r.sha);
  teardown.add('git repositories', async () => repos.remove());
  const baseSha = await git(repos.checkout, ['rev-parse', 'HEAD']);
  const heads: string[] = [];
  await git(repos.checkout, ['checkout', '--quiet', '-b', 'feature']);
  for (const push of ['first push', 'second push']) {
    await git(repos.checkout, [
      '-c',
      'user.name=rehearsal',
      '-c',
      'user.email=rehearsal@example.invalid',
      'commit',
      '--quiet',
      '--allow-empty',
      '--message',
      `pull request #${NUMBER}: ${push}`,
    ]);
    heads.push(await git(repos.checkout, ['rev-parse', 'HEAD']));
  }
  await git(repos.checkout, ['push', '--quiet', 'origin', 'feature']);
  print(
    `prepare: origin ${repos.origin}: main ${baseSha.slice(0, 12)}, feature ${heads.map((h) => h.slice(0, 12)).join(' -> ')}`,
  );

  const githubToken = 'rehearsal-github-token';
  const argocdToken = 'rehearsal-argocd-preview-token';
  const github = await startFakeGitHub({ tokens: [githubToken] });
  teardown.add('stand-in GitHub API', () => github.close());
  // Every image reference the image job produced: the stand-in's kubelet pulls only these.
  const images = new Set<string>();
  const cluster = new PreviewCluster({
    runId: r.runId,
    dir: r.dir,
    summaryDir: r.summaryDir,
    mode: r.skipImage ? 'process' : 'container',
    images,
    teardown,
    log: (l) => print(`         ${l}`),
    interrupted: r.interrupted,
  });
  const argocd = new StandInArgoCd({
    tokens: new Map([[argocdToken, 'preview-env (secrets.ARGOCD_PREVIEW_TOKEN)']]),
    gitDir: repos.origin,
    deployer: cluster,
    log: (l) => print(`         ${l}`),
  });
  await argocd.start();
  teardown.add('stand-in Argo CD', () => argocd.stop());
  const image = registry ? `${registry.host}/${names.imagePath}` : names.manifestImage;

  const events: PullRequestEventInput[] = [
    {
      action: 'opened',
      repository: REPOSITORY,
      number: NUMBER,
      headSha: heads[0]!,
      headRef: 'feature',
      baseSha,
      at: '',
    },
    {
      action: 'synchronize',
      repository: REPOSITORY,
      number: NUMBER,
      headSha: heads[1]!,
      headRef: 'feature',
      baseSha,
      before: heads[0]!,
      at: '',
    },
    {
      action: 'closed',
      repository: REPOSITORY,
      number: NUMBER,
      headSha: heads[1]!,
      headRef: 'feature',
      baseSha,
      at: '',
    },
  ];
  const checks: { event: string; result: CheckResult }[] = [];
  const jobs: { event: string; job: string; result: string; failure?: string }[] = [];
  for (const [i, input] of events.entries()) {
    if (r.interrupted()) break;
    const label = `[${i + 1}/${events.length}] pull_request ${input.action}`;
    const payload = pullRequestEvent({ ...input, at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') });
    const eventPath = join(r.dir, `event-${i}-${input.action}.json`);
    writeFileSync(eventPath, JSON.stringify(payload));
    if (input.action === 'closed') github.closedPullRequests.add(NUMBER);
    print(
      `\n${label} at ${input.headSha.slice(0, 12)} (payload checked against GitHub's pull_request.${input.action} schema)`,
    );
    const eventEnv = {
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_REPOSITORY: REPOSITORY,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_RUN_ID: `${r.runId}${i}`,
      GITHUB_REF: `refs/pull/${NUMBER}/merge`,
      GITHUB_SHA: input.headSha,
    };
    const contexts = () => ({
      github: {
        event_name: 'pull_request',
        event: payload,
        sha: input.headSha,
        ref: `refs/pull/${NUMBER}/merge`,
        head_ref: input.headRef,
        base_ref: 'main',
        repository: REPOSITORY,
        server_url: 'https://github.com',
        api_url: github.url,
        token: githubToken,
        actor: 'rehearsal',
        run_id: `${r.runId}${i}`,
        workspace: r.root,
      },
      vars: {
        IMAGE: image,
        NODE_BASE_IMAGE: baseImage,
        ARGOCD_SERVER: argocd.url,
        PREVIEW_URL_TEMPLATE: URL_TEMPLATE,
      },
      secrets: { GITHUB_TOKEN: githubToken, ARGOCD_PREVIEW_TOKEN: argocdToken },
      runner: { temp: r.summaryDir, os: 'Linux' },
    });
    const state: PreviewHandlerState = {
      root: r.root,
      skipImage: r.skipImage,
      ...(registry ? { registry } : {}),
      teardown,
      images,
      event: { path: eventPath, env: eventEnv },
      contexts,
    };
    const options: PlayerOptions = {
      contexts,
      handlers: { 'build-image': previewBuildHandler(state), 'preview-env': previewEnvHandler(state) },
      workspace: r.root,
      tempDir: r.dir,
      baseEnv: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        ...eventEnv,
        RUNNER_TEMP: r.summaryDir,
      },
      print,
      onSummary: async (sections) => print(`\n${await summary.write(sections)}`),
      onRunSummary: async (markdown) => print(`\n${summary.appendMarkdown(markdown)}\n`),
      stepSummaryPath: summary.htmlPath,
      numbering: { label: `  ${input.action}:` },
    };
    const before = cluster.instances.get(`switchboard-pr-${NUMBER}`);
    const records = await playWorkflow(workflow, options);
    for (const rec of [...records.values()].filter((r) => !r.caller))
      jobs.push({
        event: input.action,
        job: rec.job.id,
        result: rec.result,
        ...(rec.failure ? { failure: rec.failure } : {}),
      });
    const expected: ExpectedPreview = {
      number: NUMBER,
      headSha: input.headSha,
      application: `switchboard-pr-${NUMBER}`,
      namespace: `pr-${NUMBER}`,
      image: `${image}:${input.headSha}`,
      url: URL_TEMPLATE.replace('{number}', String(NUMBER)),
    };
    const results =
      input.action === 'closed'
        ? await checkClosedPreview(expected, argocd, cluster, github, before)
        : await checkOpenPreview(expected, argocd, cluster, github, join(r.root, 'argocd'));
    for (const result of results) {
      checks.push({ event: input.action, result });
      print(`  check ${result.ok ? 'ok  ' : 'FAIL'} ${result.name}: ${result.detail}`);
    }
  }
  argocd.http.assertNoViolations();
  github.assertNoViolations();

  const failedJobs = jobs.filter((j) => j.result === 'failure');
  const failedChecks = checks.filter((c) => !c.result.ok);
  const lines = [
    '',
    '## Preview rehearsal',
    '',
    '| event | job or check | result | detail |',
    '| --- | --- | --- | --- |',
    ...jobs.map((j) => `| ${j.event} | job ${j.job} | ${j.result} | ${j.failure ?? ''} |`),
    ...checks.map(
      (c) =>
        `| ${c.event} | ${c.result.name} | ${c.result.ok ? 'ok' : 'FAILED'} | ${c.result.detail.replace(/\|/g, '\\|')} |`,
    ),
    '',
  ];
  print(summary.appendMarkdown(lines.join('\n')));
  writeFileSync(
    join(r.summaryDir, 'decision.json'),
    `${JSON.stringify({ workflow: 'preview', passed: failedJobs.length === 0 && failedChecks.length === 0, jobs, checks, totalMs: Date.now() - started }, null, 2)}\n`,
  );
  const ok = failedJobs.length === 0 && failedChecks.length === 0;
  print(
    ok
      ? `rehearse: preview.yml passed: every job and check (${formatDuration(Date.now() - started)})`
      : `rehearse: preview.yml FAILED: ${[...failedJobs.map((j) => `${j.event}: job ${j.job}: ${j.failure ?? 'failed'}`), ...failedChecks.map((c) => `${c.event}: ${c.result.detail}`)].join('; ')} (${formatDuration(Date.now() - started)})`,
  );
  return ok ? 0 : 2;
}
