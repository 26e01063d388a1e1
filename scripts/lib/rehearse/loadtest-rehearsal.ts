// Plays loadtest.yml as two dispatches -- mode local, then mode operator -- against a staging stand-in
// synced from the committed staging render (argocd-sync's stand-in; the pods run the working tree,
// the committed digest not being in a local registry). GitHub's workflow_dispatch payload (events.ts),
// the workflow's own steps and conditions, k6-loadtest's own code in both modes (loadtest-handlers.ts,
// the operator through the stand-in kubectl and k6-operator), slo-gate's own code. Checks: the k6 the
// runner installs and the TestRun's runner image are the pinned k6, the bundle's imports are modules
// of it. With --fault, the fault is injected into staging during each dispatch's load and each gate
// must fail the fault's objective. Returns the exit status: 0 both dispatches and every check passed,
// 2 one failed (with --fault: the gates caught it, as they must), 3 a --fault went unnoticed.
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { GateOutcome } from './actions.js';
import { unmet } from '../../../actions/slo-gate/src/evaluate.js';
import { prepareRepos, seedDeployBranch } from './checkout.js';
import { workflowDispatchEvent } from './events.js';
import { deferred } from './deploy-load.js';
import { actionHandlers, type RehearsalState } from './handlers.js';
import { StandInK6Operator } from './k6-operator-standin.js';
import { loadTestModesHandler, withFault, type LoadTestHandlerState } from './loadtest-handlers.js';
import { playWorkflow, type PlayerOptions } from './player.js';
import type { CheckResult } from './preview-checks.js';
import { formatDuration } from './progress.js';
import { StepSummary } from './summary-text.js';
import { pinnedK6 } from '../../../pipeline/src/validate/policies/k6.js';
import type { WorkflowRehearsal } from './workflow-kind.js';
import { interpolate, readWorkflow, type WorkflowJob } from './workflow.js';
import { rehearsalNames } from './adopter.js';

/** Whether grafana/setup-k6-action in `job` installs the pinned k6 (its k6-version input). */
export function setupK6Check(job: WorkflowJob, contexts: Record<string, unknown>): CheckResult {
  const pinned = pinnedK6().version.replace(/^v/, '');
  const step = job.steps.find((s) => s.uses?.startsWith('grafana/setup-k6-action@'));
  const version = step ? interpolate(step.with['k6-version'] ?? '', contexts) : '';
  return {
    name: 'setup-k6-action installs the pinned k6',
    ok: version.replace(/^v/, '') === pinned,
    detail: !step
      ? 'no grafana/setup-k6-action step: local mode needs k6 on the runner'
      : version
        ? `k6-version ${version}; platform/versions.yaml pins ${pinnedK6().version}`
        : `no k6-version: the action installs the latest k6 release, not the pinned ${pinnedK6().version}`,
  };
}

/** Rehearses loadtest.yml in both modes; resolves with the exit status. */
export async function rehearseLoadtest(r: WorkflowRehearsal): Promise<number> {
  const { print, teardown } = r;
  const started = Date.now();
  const workflow = readWorkflow(r.workflowPath);
  // The stand-in GitHub's repository and the manifests' image are the configured ones (adopter.ts).
  const { repository: REPOSITORY, manifestImage: MANIFEST_IMAGE } = rehearsalNames(r.root);
  const summary = new StepSummary(join(r.summaryDir, 'job-summary.md'), join(r.summaryDir, 'rehearsal.md'));
  print(
    `rehearse: ${r.workflowPath.startsWith(r.root) ? relative(r.root, r.workflowPath) : r.workflowPath}: two dispatches (mode local, mode operator) against staging${r.fault ? ` with fault ${r.fault.name}` : ''}; ${r.vus} VUs for ${r.duration}, soak ${r.soakSeconds}s; summaries in ${r.summaryDir}`,
  );
  const repos = await prepareRepos(r.root, ['base', 'overlays'], r.sha);
  teardown.add('git repositories', async () => repos.remove());
  await seedDeployBranch(repos, {
    environments: ['staging'],
    image: MANIFEST_IMAGE,
    branch: 'deploy',
    log: print,
  });

  // The environment under test: argocd-sync's stand-in, as deploy.yml's rehearsal runs it.
  const state: RehearsalState = {
    root: r.root,
    runId: r.runId,
    sha: r.sha,
    repos,
    teardown,
    dir: r.dir,
    summaryDir: r.summaryDir,
    skipImage: true,
    replicas: r.replicas,
    scrapeIntervalMs: 1000,
    interrupted: r.interrupted,
    manifestImage: MANIFEST_IMAGE,
    // One sync, no deploy: the pods run the render as it is.
    podEnv: () => undefined,
    rolled: deferred(),
    substep: async (name, fn, detail) => {
      const value = await fn();
      print(`  ${name}: done${detail ? ` -- ${detail(value)}` : ''}`);
      return value;
    },
  };
  const handlers = actionHandlers(state);
  const noJob = { id: 'staging', name: 'staging', needs: [], steps: [], outputs: {}, env: {} };
  const synced = await handlers['argocd-sync']!({
    job: noJob,
    step: { index: 0, with: {}, env: {} },
    inputs: { application: 'switchboard-staging', revision: 'deploy' },
    log: (l) => print(`  ${l}`),
  });
  if (!state.standIn)
    throw new Error(`the staging stand-in did not start: ${synced.failed ?? synced.note ?? ''}`);
  const standIn = state.standIn;
  print(`prepare: ${synced.note ?? ''}`);

  const operator = new StandInK6Operator({
    serviceUrls: new Map([['ws://switchboard:4000/socket', standIn.socketUrl]]),
    log: (l) => print(`         ${l}`),
  });
  await operator.start();
  teardown.add('stand-in k6-operator', () => operator.stop());
  const githubEnv = join(r.dir, 'github-env');
  writeFileSync(githubEnv, '');

  const checks: { mode: string; result: CheckResult }[] = [];
  const jobs: { mode: string; job: string; result: string; failure?: string }[] = [];
  for (const mode of ['local', 'operator']) {
    if (r.interrupted()) break;
    const parallelism = mode === 'operator' ? 2 : 1;
    const inputs = {
      environment: 'staging',
      scenario: 'fanout',
      vus: String(r.vus),
      duration: r.duration,
      gate: 'true',
      mode,
      parallelism: String(parallelism),
    };
    const payload = workflowDispatchEvent({
      repository: REPOSITORY,
      ref: 'refs/heads/main',
      workflow: '.github/workflows/loadtest.yml',
      inputs,
    });
    print(
      `\n[${mode === 'local' ? 1 : 2}/2] workflow_dispatch mode=${mode} (payload checked against GitHub's workflow_dispatch schema)`,
    );
    const lstate: LoadTestHandlerState = {
      root: r.root,
      tempDir: r.dir,
      kubectl: operator.kubectl,
      runId: `${r.runId}-${mode}`,
    };
    const contexts = () => ({
      github: {
        event_name: 'workflow_dispatch',
        event: payload,
        sha: r.sha,
        ref: 'refs/heads/main',
        repository: REPOSITORY,
        actor: 'rehearsal',
        run_id: `${r.runId}-${mode}`,
        workspace: r.root,
      },
      // The inputs context keeps the declared types (boolean, number); github.event.inputs are strings.
      inputs: { ...inputs, vus: r.vus, gate: true, parallelism },
      vars: {
        LOADTEST_URL: standIn.socketUrl,
        PROMETHEUS_URL: standIn.prometheusUrl,
        SLO_SOAK_SECONDS: String(r.soakSeconds),
      },
      secrets: {
        LOADTEST_TOKEN: state.loadTestToken ?? '',
        PROMETHEUS_TOKEN: '',
        KUBECONFIG: '# the stand-in kubectl needs no credentials',
      },
      runner: { temp: r.dir, os: 'Linux' },
    });
    const loadTest = loadTestModesHandler(lstate);
    const options: PlayerOptions = {
      contexts,
      handlers: {
        'k6-loadtest':
          r.fault && r.faultAt
            ? withFault(loadTest, r.fault, r.faultAt, {
                replicas: standIn.replicas,
                redis: standIn.redis,
                ingressUrl: standIn.ingressUrl,
                apiToken: standIn.secrets.API_TOKEN ?? '',
                jwtSecret: standIn.secrets.JWT_SECRET ?? '',
              })
            : loadTest,
        'slo-gate': handlers['slo-gate']!,
      },
      workspace: r.root,
      tempDir: r.dir,
      baseEnv: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        RUNNER_TEMP: r.dir,
        GITHUB_ENV: githubEnv,
      },
      print,
      onSummary: async (sections) => print(`\n${await summary.write(sections)}`),
      onRunSummary: async (markdown) => print(`\n${summary.appendMarkdown(markdown)}\n`),
      stepSummaryPath: summary.htmlPath,
      numbering: { label: `  ${mode}:` },
    };
    state.gate = undefined;
    const records = await playWorkflow(workflow, options);
    for (const rec of [...records.values()].filter((r) => !r.caller))
      jobs.push({
        mode,
        job: rec.job.id,
        result: rec.result,
        ...(rec.failure ? { failure: rec.failure } : {}),
      });
    const results: CheckResult[] = [];
    if (mode === 'local') {
      results.push(setupK6Check(workflow.jobs[0]!, { ...contexts(), env: workflow.env }));
    } else {
      const run = operator.history.at(-1);
      results.push({
        name: 'TestRun runs the pinned k6',
        ok: !!run && run.image === pinnedK6().image && run.problems.length === 0 && run.stage === 'finished',
        detail: run
          ? `testrun/${run.name}: runner ${run.image}${run.image === pinnedK6().image ? ' (pinned)' : ` (not the pinned ${pinnedK6().image})`}; ${run.problems.length ? run.problems.map((p) => `${p.field}: ${p.message}`).join('; ') : `script imports only modules of k6 ${pinnedK6().version}`}; stage ${run.stage}, ${run.pods.length}/${run.parallelism} runner pods`
          : 'no TestRun reached the stand-in k6-operator',
      });
    }
    // Set by the slo-gate handler during playWorkflow (reset above).
    const gate = state.gate as GateOutcome | undefined;
    const failedObjectives = (gate?.report.results ?? []).filter(unmet).map((o) => o.name);
    if (r.fault) {
      const missed = r.fault.gateObjectives.filter((o) => !failedObjectives.includes(o));
      results.push({
        name: `SLO gate caught fault ${r.fault.name}`,
        ok: !!gate && missed.length === 0,
        detail: !gate
          ? 'the gate did not run'
          : missed.length === 0
            ? `verdict ${gate.report.verdict}: failed ${failedObjectives.join(', ')}, as the fault must`
            : `verdict ${gate.report.verdict}: did NOT fail ${missed.join(', ')} (it failed ${failedObjectives.join(', ') || 'nothing'})`,
      });
    }
    results.push({
      name: 'SLO gate judged the load test',
      ok: gate?.report.verdict === 'pass',
      detail: gate
        ? `verdict ${gate.report.verdict}${failedObjectives.length ? `: ${failedObjectives.join(', ')}` : ''}`
        : 'the gate did not run',
    });
    for (const result of results) {
      checks.push({ mode, result });
      print(`  check ${result.ok ? 'ok  ' : 'FAIL'} ${result.name}: ${result.detail}`);
    }
  }

  const failedJobs = jobs.filter((j) => j.result === 'failure');
  const failedChecks = checks.filter((c) => !c.result.ok);
  const lines = [
    '',
    '## Load-test rehearsal',
    '',
    '| mode | job or check | result | detail |',
    '| --- | --- | --- | --- |',
    ...jobs.map(
      (j) => `| ${j.mode} | job ${j.job} | ${j.result} | ${j.failure?.replace(/\|/g, '\\|') ?? ''} |`,
    ),
    ...checks.map(
      (c) =>
        `| ${c.mode} | ${c.result.name} | ${c.result.ok ? 'ok' : 'FAILED'} | ${c.result.detail.replace(/\|/g, '\\|')} |`,
    ),
    '',
  ];
  print(summary.appendMarkdown(lines.join('\n')));
  const ok = failedJobs.length === 0 && failedChecks.length === 0;
  const missedFault = checks.some((c) => c.result.name.startsWith('SLO gate caught fault') && !c.result.ok);
  writeFileSync(
    join(r.summaryDir, 'decision.json'),
    `${JSON.stringify({ workflow: 'loadtest', passed: ok, fault: r.fault?.name ?? null, jobs, checks, totalMs: Date.now() - started }, null, 2)}\n`,
  );
  print(
    ok
      ? `rehearse: loadtest.yml passed in both modes (${formatDuration(Date.now() - started)})`
      : `rehearse: loadtest.yml FAILED: ${[...failedJobs.map((j) => `${j.mode}: job ${j.job}: ${j.failure ?? 'failed'}`), ...failedChecks.map((c) => `${c.mode}: ${c.result.detail}`)].join('; ')} (${formatDuration(Date.now() - started)})`,
  );
  if (missedFault) print('rehearse: the fault went unnoticed by a gate: exit 3');
  return ok ? 0 : missedFault ? 3 : 2;
}
