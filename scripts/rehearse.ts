#!/usr/bin/env -S npx tsx
// Rehearses the deploy pipeline (.github/workflows/deploy.yml) on this machine, without a cluster:
// every job in order, with the actions' own code and real parts (docs/rehearsal.md).
//   1. prepare: a registry on 127.0.0.1 and a Node base image made from this machine (vars.IMAGE,
//      vars.NODE_BASE_IMAGE); a throwaway git checkout of base/ and overlays/ with a bare origin whose
//      deploy branch holds the renders of the overlays as committed
//   2. play deploy.yml's jobs: build (build-image: buildah, push), render-staging (render-manifests: pin
//      the digest, render, validate, commit rendered/staging), sync-staging (argocd-sync's stand-in
//      plays one Argo CD sync in phase/wave order: the Namespace, PostgreSQL, the Redis Cluster's
//      nodes, the ExternalSecret's Secret, the migration and cluster-create Jobs, the Deployment's
//      pods as podman containers of the pushed image; then nginx from the Ingress annotations and
//      Prometheus with the PrometheusRule),
//      loadtest-staging (k6-loadtest on the Node runner, --fault injected meanwhile), gate-staging (its
//      Window step in bash, then slo-gate against the stand-in's Prometheus), rollback-staging when
//      something failed, production (with --canary first its canary: the canary render synced beside
//      the stable pods, the move Job, slo-gate against the stable pods, removed unless it passes; then
//      render-manifests for production, argocd-sync rolls the stand-in's production, its verification soak: slo-gate on production's own clients against the window
//      before the sync, and the rollback when it does not pass), summary (its bash step)
//   3. print the promotion decision and the job-summary tables (also written to files, and to
//      summary.html with the SLO gate's charts drawn)
//   4. stop everything it started -- also on Ctrl-C
// Exit: 0 promote, 2 do not promote, 4 rolled back (production's verification failed after the
// promotion), 5 production's canary failed and was removed (nothing promoted), 3 a --fault went
// unnoticed (the pipeline would have promoted), 1 the rehearsal itself
// failed, 130 interrupted.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs as parseNodeArgs } from 'node:util';
import { startRegistry } from '../testkit/src/index.js';
import { buildBase, removeImages } from '../pipeline/src/image/index.js';
import { prepareRepos, seedDeployBranch } from './lib/rehearse/checkout.js';
import { decide, decisionSummary } from './lib/rehearse/decision.js';
import { faultNames, findFault, type Fault } from './lib/rehearse/faults.js';
import { actionHandlers, type RehearsalState } from './lib/rehearse/handlers.js';
import { deferred } from './lib/rehearse/deploy-load.js';
import { releaseEnv, startPreviousRelease } from './lib/rehearse/previous-release.js';
import { rehearsalComparedObjectives } from './lib/rehearse/verification.js';
import { REHEARSAL_REBALANCE_INTERVAL_MS } from './lib/rehearse/scale-up.js';
import { rolloutFigures, rolloutLine, rolloutSection } from './lib/rehearse/rollout-report.js';
import { playWorkflow, type PlayerOptions } from './lib/rehearse/player.js';
import { Progress, formatDuration } from './lib/rehearse/progress.js';
import { workDir } from './lib/rehearse/replicas.js';
import { StepSummary } from './lib/rehearse/summary-text.js';
import { judgeNeighbourOf, neighbourVerifyingJob, startNeighbourOf } from './lib/rehearse/neighbour-run.js';
import { productionOutcome } from './lib/rehearse/verification.js';
import { killDescendantsNow, removeContainersNow, Teardown } from './lib/rehearse/teardown.js';
import { readWorkflow } from './lib/rehearse/workflow.js';
import { rehearsalNames } from './lib/rehearse/adopter.js';
import { rehearseOtherWorkflow } from './lib/rehearse/workflow-rehearsals.js';
import { judgeScaleUp } from './lib/rehearse/scale-up.js';
import { resolveWorkflow, type WorkflowKind } from './lib/rehearse/workflow-kind.js';
import { $, run, zxRunner } from './lib/zx.js';

const usage = `Usage: npm run rehearse -- [options]

  --short             a quick run: 30 VUs for 60s (deploy; 40s for the others), 5s soak
  --fault <name>      inject a fault during the load test (deploy, loadtest): ${faultNames.join(', ')}
  --fault-in <env>    where the fault goes: staging (deployed, default) or production (the neighbour
                      environment the same Prometheus scrapes; staging's gate must still pass; deploy only)
                      bad-release is production's after its promotion: staging's gate passes, production's
                      verification must fail join-success only and the workflow roll back (deploy only)
  --canary <percent>  deploy: production's canary before its promotion (vars.CANARY_PERCENT): a canary pod
                      of the new release beside the stable ones, <percent> (1-100) of their connections
                      moved to it over 3 s, judged against them; with --fault bad-release the canary must
                      fail join-success only and be removed (exit 5)
  --skip-image        do not build the image; the pods run the working tree as processes
  --replicas <n>      server pods (default 3; --scale-up 2)
  --scale-up          deploy: a pod more a quarter into the load test (the HPA scaling up), with the
                      rebalancer on and the rollout scenario counting every client's messages; the
                      connections must end within 20 % of even with nothing lost
  --vus <n>           vars.LOADTEST_VUS (default 100; --short 30)
  --duration <d>      vars.LOADTEST_DURATION, k6 syntax (default 2m; --short 60s for deploy, else 40s)
  --soak <seconds>    vars.SLO_SOAK_SECONDS (default 30; --short 5)
  --session <d>       also pass SESSION=<d> to the load test: VUs reconnect and rejoin every <d>
                      (deploy.yml passes no env; default none)
  --workflow <file>   the workflow to play: deploy (default), preview, loadtest, or a file; a file
                      on pull_request plays like preview.yml, on workflow_dispatch only like loadtest.yml
  --summary-dir <dir> where the job summary files go (default: a new temp dir, printed)
  -h, --help          this text

Every option can also come from the environment: REHEARSE_FAULT, REHEARSE_FAULT_IN, REHEARSE_SKIP_IMAGE=1, REHEARSE_SHORT=1,
REHEARSE_REPLICAS, REHEARSE_SCALE_UP=1, REHEARSE_VUS, REHEARSE_DURATION, REHEARSE_SOAK, REHEARSE_SESSION, REHEARSE_WORKFLOW,
REHEARSE_SUMMARY_DIR (a flag wins over the environment).

Exit status: 0 promote (production verified after its sync), 2 do not promote, 4 rolled back (promoted,
but production's verification failed and the previous render was restored and synced; production ends
on the previous release), 5 production's canary failed and was removed (nothing promoted; production
ends on the previous release), 3 the --fault was not caught by the objective it must break
(broken-recovery, rollout-broken-recovery: by those and no other; rolling-drain, which must be ridden
through: no promotion; bad-release: production's verification by join-success only, then rolled back to
the previous release)
or a gate judged the wrong environment (the fault failed the other one's gate, or the neighbour failed
without a fault) or the --scale-up did not end even with nothing lost, 1 the rehearsal itself failed, 130 interrupted.`;

/** The rehearsal's settings after flags, environment and defaults. */
interface Args {
  short: boolean;
  fault?: Fault;
  faultAt?: { atMs: number; holdMs: number };
  /** The fault goes into the neighbour environment (production), not the deployed one. */
  faultInNeighbour: boolean;
  /** --scale-up: ms into the load test when a pod is added, and until when the spread is watched. */
  scaleUp?: { atMs: number; untilMs: number };
  skipImage: boolean;
  /** --canary: the share of each stable production pod's connections moved to the canary. */
  canaryPercent?: number;
  replicas: number;
  vus: number;
  duration: string;
  durationMs: number;
  soakSeconds: number;
  session?: string;
  workflow: string;
  summaryDir: string;
  scrapeIntervalMs: number;
}

function fail(message: string): never {
  console.error(`rehearse: ${message} (npm run rehearse -- --help lists the options)`);
  process.exit(1);
}

function positiveInt(name: string, raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1) fail(`${name}: "${raw}" is not a positive whole number`);
  return n;
}

function durationMs(name: string, raw: string): number {
  const m = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(raw);
  if (!m || (!m[1] && !m[2])) fail(`${name}: "${raw}" is not a duration such as 40s, 2m or 1m30s`);
  return (Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 1000;
}

const root = fileURLToPath(new URL('..', import.meta.url));

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): Args {
  let values;
  try {
    ({ values } = parseNodeArgs({
      args: argv,
      options: {
        short: { type: 'boolean' },
        fault: { type: 'string' },
        'fault-in': { type: 'string' },
        'skip-image': { type: 'boolean' },
        canary: { type: 'string' },
        'scale-up': { type: 'boolean' },
        replicas: { type: 'string' },
        vus: { type: 'string' },
        duration: { type: 'string' },
        soak: { type: 'string' },
        session: { type: 'string' },
        workflow: { type: 'string' },
        'summary-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const flag = (v: boolean | undefined, e: string | undefined) => v ?? (e === '1' || e === 'true');
  const short = flag(values.short, env.REHEARSE_SHORT);
  const faultName = values.fault ?? env.REHEARSE_FAULT;
  let fault: Fault | undefined;
  if (faultName) {
    try {
      fault = findFault(faultName);
    } catch (err) {
      fail((err as Error).message);
    }
  }
  const workflow = values.workflow || env.REHEARSE_WORKFLOW || '.github/workflows/deploy.yml';
  let kind: WorkflowKind = 'deploy';
  try {
    kind = resolveWorkflow(root, workflow).kind;
  } catch (err) {
    fail((err as Error).message);
  }
  // deploy.yml's load runs across the sync: a 3-pod rolling update takes about 40 s on a loaded
  // 2-core machine and must end inside the load for the continuity counts and the faults after it.
  const duration =
    values.duration ?? env.REHEARSE_DURATION ?? (short ? (kind === 'deploy' ? '60s' : '40s') : '2m');
  const ms = durationMs('--duration', duration);
  const session = values.session ?? env.REHEARSE_SESSION;
  const sessionMs = session ? durationMs('--session', session) : undefined;
  // A bad release is not injected during the load: production's sync carries it (bad-release.ts).
  const faultAt = fault?.afterPromotion ? undefined : fault?.timing(ms, sessionMs);
  // Leave time after the fault to see the recovery (kill-node's pod needs its start-up too).
  if (faultAt && ms < faultAt.atMs + faultAt.holdMs + 10_000) {
    fail(
      `--duration: ${duration} leaves no room for the fault (it starts at ${faultAt.atMs / 1000}s and lasts ` +
        `${faultAt.holdMs / 1000}s); give at least ${Math.ceil((faultAt.atMs + faultAt.holdMs + 10_000) / 1000)}s`,
    );
  }
  const faultIn = values['fault-in'] || env.REHEARSE_FAULT_IN || 'staging';
  if (faultIn !== 'staging' && faultIn !== 'production') {
    fail(`--fault-in: "${faultIn.slice(0, 40)}" is not staging or production`);
  }
  if (faultIn === 'production' && !fault) fail('--fault-in production needs a --fault');
  if (faultIn === 'production' && fault?.duringSync) {
    fail(
      `--fault ${fault.name} plays during staging's sync, under staging's load test; production's sync comes after it`,
    );
  }
  if (faultIn === 'production' && fault?.afterPromotion) {
    fail(
      `--fault-in production: ${fault.name} is production's already (it comes with the promotion); leave --fault-in out`,
    );
  }
  const scaleUp = flag(values['scale-up'], env.REHEARSE_SCALE_UP);
  // A quarter in: every client has joined; the rest of the load (minus the rollout scenario's last
  // seconds without publishing) is the time the rebalancer gets.
  if (scaleUp && ms < 30_000) fail(`--scale-up needs a --duration of at least 30s (${duration})`);
  if (scaleUp && fault) fail('--scale-up and --fault: one thing at a time');
  const canaryRaw = values.canary ?? env.REHEARSE_CANARY;
  const canaryPercent = canaryRaw === undefined ? undefined : positiveInt('--canary', canaryRaw);
  if (canaryPercent !== undefined && canaryPercent > 100) fail(`--canary: ${canaryPercent} is above 100 (%)`);
  if (canaryPercent !== undefined && fault && !fault.afterPromotion)
    fail(`--canary with --fault ${fault.name}: the canary is production's; only bad-release reaches it`);
  const soakRaw = values.soak ?? env.REHEARSE_SOAK ?? (short ? '5' : '30');
  const soakSeconds = Number(soakRaw);
  if (!/^\d+$/.test(soakRaw)) fail(`--soak: "${soakRaw}" is not a whole number of seconds`);
  return {
    short,
    ...(fault ? { fault } : {}),
    ...(faultAt ? { faultAt } : {}),
    faultInNeighbour: faultIn === 'production',
    ...(scaleUp ? { scaleUp: { atMs: ms / 4, untilMs: ms - 3000 } } : {}),
    skipImage: flag(values['skip-image'], env.REHEARSE_SKIP_IMAGE),
    ...(canaryPercent !== undefined ? { canaryPercent } : {}),
    replicas: positiveInt('--replicas', values.replicas ?? env.REHEARSE_REPLICAS ?? (scaleUp ? '2' : '3')),
    vus: positiveInt('--vus', values.vus ?? env.REHEARSE_VUS ?? (short ? '30' : '100')),
    duration,
    durationMs: ms,
    soakSeconds,
    ...(session ? { session } : {}),
    workflow,
    summaryDir:
      values['summary-dir'] ??
      env.REHEARSE_SUMMARY_DIR ??
      mkdtempSync(join(tmpdir(), 'switchboard-rehearsal-')),
    // 2 s, timeout 2 s: with 1 s, a /metrics answer delayed past 1 s on a loaded 2-core machine
    // counted as a down pod (up = 0) and failed a healthy neighbour's server-availability.
    scrapeIntervalMs: 2000,
  };
}

async function git(root: string, args: string[]): Promise<string> {
  return (await run($({ cwd: root })`git ${args}`)).stdout.trim();
}

/** Set by the first SIGINT/SIGTERM; the signal handler then owns the exit. */
let interrupted = false;

/** vars.VERIFY_SOAK_SECONDS: production's verification soak (reusable-deploy.yml's default is 300). */
function verifySoakSeconds(short: boolean): number {
  return short ? 20 : 60;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), process.env);
  const target = resolveWorkflow(root, args.workflow);
  // Only deploy.yml's rehearsal runs production next to staging, and preview.yml runs no load test.
  if (target.kind !== 'deploy' && args.faultInNeighbour) {
    fail(
      `--fault-in production: only deploy.yml's rehearsal runs production; ${target.kind} faults go into staging`,
    );
  }
  if (target.kind !== 'deploy' && args.fault?.afterPromotion) {
    fail(
      `--fault ${args.fault.name}: only deploy.yml's rehearsal promotes to production (not ${target.kind})`,
    );
  }
  if (target.kind === 'preview' && args.fault) {
    fail(
      `--fault ${args.fault.name}: preview.yml's rehearsal runs no load test to inject it into (deploy or loadtest)`,
    );
  }
  if (target.kind !== 'deploy' && args.canaryPercent !== undefined)
    fail(`--canary: only deploy.yml's rehearsal promotes to production (not ${target.kind})`);
  if (target.kind !== 'deploy' && args.scaleUp)
    fail(`--scale-up: only deploy.yml's rehearsal scales (not ${target.kind})`);
  const workflow = readWorkflow(target.path);
  const runId = `rh${process.pid}`;
  const print = (line: string) => console.log(line);
  const total = workflow.jobs.length + 2;
  const progress = new Progress(total, print);
  const teardown = new Teardown((line) => progress.log(line), true);
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      print(`rehearse: second ${signal}: killing what is left`);
      // At once and synchronously: awaiting here would let the run start more children meanwhile.
      killDescendantsNow();
      removeContainersNow(runId);
      process.exit(130);
    }
    interrupted = true;
    print(`\nrehearse: ${signal}: stopping everything it started (Ctrl-C again to kill at once)`);
    void teardown.run(15_000).then(() => {
      // The run kept going while the teardown awaited: whatever it started since dies with us.
      killDescendantsNow();
      removeContainersNow(runId);
      print('rehearse: stopped');
      process.exit(130);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (target.kind !== 'deploy') {
    const code = await rehearseOtherWorkflow(target.kind, {
      root,
      workflowPath: target.path,
      runId,
      sha: await git(root, ['rev-parse', 'HEAD']),
      skipImage: args.skipImage,
      summaryDir: args.summaryDir,
      dir: workDir(),
      teardown,
      print,
      interrupted: () => interrupted,
      vus: args.vus,
      duration: args.duration,
      soakSeconds: args.soakSeconds,
      short: args.short,
      replicas: args.replicas,
      ...(args.fault ? { fault: args.fault } : {}),
      ...(args.faultAt ? { faultAt: args.faultAt } : {}),
    }).finally(() => (interrupted ? undefined : teardown.run()));
    if (!interrupted) process.exit(code);
    return;
  }

  // The stand-in GitHub's repository and the image names are switchboard.config.yaml's (adopter.ts);
  // deploy.yml passes the manifests' image and the deploy branch to reusable-deploy.yml.
  const names = rehearsalNames(root);
  const callInput = (name: string) => workflow.jobs.find((j) => j.call)?.call?.with[name];
  const summary = new StepSummary(
    join(args.summaryDir, 'job-summary.md'),
    join(args.summaryDir, 'rehearsal.md'),
    join(args.summaryDir, 'summary.html'),
    `Rehearsal of ${workflow.path.slice(root.length + 1)}${args.fault ? ` with fault ${args.fault.name}` : ''}`,
  );
  const sha = await git(root, ['rev-parse', 'HEAD']);
  const dirty = (await git(root, ['status', '--porcelain', '--untracked-files=no'])) !== '';
  print(
    `rehearse: ${workflow.path.slice(root.length)} ${args.fault ? `with fault ${args.fault.name}` : 'healthy'}; ` +
      `${args.replicas} pods, ${args.vus} VUs for ${args.duration}, soak ${args.soakSeconds}s; ` +
      `${sha.slice(0, 12)}${dirty ? ' + uncommitted changes' : ''}; summaries in ${args.summaryDir}`,
  );

  const state: RehearsalState = {
    root,
    runId,
    sha,
    repos: undefined as unknown as RehearsalState['repos'],
    teardown,
    dir: workDir(),
    summaryDir: args.summaryDir,
    skipImage: args.skipImage,
    replicas: args.replicas,
    scrapeIntervalMs: args.scrapeIntervalMs,
    ...(args.session ? { session: args.session } : {}),
    ...(args.fault ? { fault: args.fault } : {}),
    ...(args.faultAt ? { faultAt: args.faultAt } : {}),
    ...(args.scaleUp ? { scaleUp: args.scaleUp } : {}),
    faultInNeighbour: args.faultInNeighbour,
    rolled: deferred(),
    podEnv: (release) =>
      releaseEnv(release, {
        sha,
        loadMs: args.durationMs,
        ...(args.scaleUp
          ? {
              extra: {
                REBALANCE_INTERVAL_MS: {
                  value: String(REHEARSAL_REBALANCE_INTERVAL_MS),
                  why: '--scale-up: the rebalancer on (off by default), every 3 s for a short load',
                },
              },
            }
          : {}),
      }),
    verifiesProduction: neighbourVerifyingJob(workflow) !== undefined,
    // The verification's baseline (as long as its soak, ending at the sync's start) and two scrapes.
    productionHistoryMs: verifySoakSeconds(args.short) * 1000 + 2 * args.scrapeIntervalMs,
    interrupted: () => interrupted,
    manifestImage: String(callInput('manifest-image') ?? workflow.env.MANIFEST_IMAGE ?? names.manifestImage),
    substep: async (name, fn, detail) => {
      const t0 = Date.now();
      progress.log(`${name} ...`);
      const value = await fn();
      const d = detail?.(value);
      progress.log(`${name}: done in ${formatDuration(Date.now() - t0)}${d ? ` -- ${d}` : ''}`);
      return value;
    },
  };

  const branch = String(callInput('deploy-branch') ?? workflow.env.DEPLOY_BRANCH ?? 'deploy');
  let exitCode: number;
  try {
    await progress.step(
      'prepare: registry, base image, git checkout with a deploy branch',
      'outside the workflow',
      async () => {
        const done: string[] = [];
        if (!args.skipImage) {
          const registry = await startRegistry();
          teardown.add('registry', () => registry.stop());
          state.registry = registry;
          const base = `localhost/node-base:rehearsal-${runId}`;
          teardown.add('base image', () => removeImages([base], zxRunner));
          await state.substep(
            'Node base image from this machine',
            () => buildBase({ tag: base, runner: zxRunner }),
            () => base,
          );
          state.baseImage = base;
          done.push(`registry ${registry.url}`, `base ${base}`);
        }
        state.repos = await prepareRepos(root, ['base', 'overlays'], sha);
        teardown.add('git repositories', async () => state.repos.remove());
        const seeded = await state.substep(
          `deploy branch "${branch}" with the committed renders`,
          () =>
            seedDeployBranch(state.repos, {
              environments: ['staging', 'production'],
              image: state.manifestImage,
              branch,
              log: (l) => progress.log(l),
            }),
          (s) => s.join('; '),
        );
        done.push(`origin ${state.repos.origin}`, `seeded ${seeded.length} render(s)`);
        // Production as committed, next to staging in the same Prometheus; it starts meanwhile.
        const neighbour = startNeighbourOf(workflow, { state, branch, log: (l) => progress.log(l) });
        if (neighbour) done.push(`neighbour ${neighbour} starting`);
        // Staging runs its previous release when the deploy starts: the deploy's sync replaces its pods.
        if (neighbour) {
          const previous = await state.substep(
            'staging: the previous release (the committed render)',
            () => startPreviousRelease(state, { branch, log: (l) => progress.log(l) }),
            (p) => p,
          );
          done.push(`staging runs ${previous}`);
        }
        return done;
      },
      (d) => d.join(', '),
    );

    const vars: Record<string, string> = {
      IMAGE: state.registry ? `${state.registry.host}/${names.imagePath}` : state.manifestImage,
      NODE_BASE_IMAGE: state.baseImage ?? '',
      ARGOCD_SERVER: 'https://argocd.rehearsal.invalid',
      // Unset: the workflow's default, the rollout scenario, whose clients count every message across
      // the deploy's rolling update; a fault may need another.
      ...(args.fault?.scenario ? { LOADTEST_SCENARIO: args.fault.scenario } : {}),
      LOADTEST_VUS: String(args.vus),
      LOADTEST_DURATION: args.duration,
      SLO_SOAK_SECONDS: String(args.soakSeconds),
      // Production's verification: a soak of ten (--short) or thirty scrapes (every 2 s here, 15 s on a cluster).
      VERIFY_SOAK_SECONDS: String(verifySoakSeconds(args.short)),
      // It compares with the window before the sync: here the ratios only, with the default 10 %
      // (verification.ts says why latency is left to its absolute bound on this machine).
      VERIFY_BASELINE_OBJECTIVES: rehearsalComparedObjectives(root),
      // The canary: judged as long as the verification, its share moved over 3 s (ten batches).
      ...(args.canaryPercent !== undefined
        ? {
            CANARY_PERCENT: String(args.canaryPercent),
            CANARY_WINDOW_MS: '3000',
            CANARY_SOAK_SECONDS: String(verifySoakSeconds(args.short)),
            // The 4x its comparison with the stable pods was rehearsed with (it used to inherit the
            // verification's): both sides share the window, but not their clients.
            CANARY_MAX_REGRESSION: '3',
          }
        : {}),
    };
    const playerOptions: PlayerOptions = {
      contexts: () => ({
        github: {
          sha,
          ref: 'refs/heads/main',
          ref_name: 'main',
          event_name: 'push',
          actor: 'rehearsal',
          repository: names.repository,
          run_id: runId,
          workspace: root,
        },
        vars: {
          ...vars,
          ...(state.standIn
            ? { LOADTEST_URL: state.standIn.socketUrl, PROMETHEUS_URL: state.standIn.prometheusUrl }
            : {}),
        },
        secrets: {
          GITHUB_TOKEN: 'rehearsal-not-used',
          ARGOCD_TOKEN: 'rehearsal-not-used',
          LOADTEST_TOKEN: state.loadTestToken ?? '',
          PROMETHEUS_TOKEN: '',
        },
        runner: { temp: args.summaryDir, os: 'Linux' },
      }),
      handlers: actionHandlers(state),
      workspace: root,
      tempDir: state.dir,
      baseEnv: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        GITHUB_SHA: sha,
        GITHUB_REF: 'refs/heads/main',
        // scripts/deploy-order.sh reads the deploy branch of the throwaway remote, not a real one.
        DEPLOY_REMOTE: state.repos.origin,
        GITHUB_WORKSPACE: root,
        RUNNER_TEMP: args.summaryDir,
      },
      print,
      onSummary: async (sections) => {
        print(`\n${await summary.write(sections)}`);
      },
      onRunSummary: async (markdown) => {
        print(`\n${summary.appendMarkdown(markdown)}\n`);
      },
      stepSummaryPath: summary.htmlPath,
      numbering: { first: 2, total },
    };
    const records = await playWorkflow(workflow, playerOptions);
    // deploy.yml stops before the gate when the load test fails. To show which objective a fault
    // breaks, play the gate job anyway against the same stand-in; it decides nothing.
    const gateJob = workflow.jobs.find((j) => j.steps.some((s) => s.uses === './actions/slo-gate'));
    let gateDiagnostic = false;
    if (gateJob && !state.gate && state.standIn && state.load && !interrupted) {
      gateDiagnostic = true;
      print(
        `rehearse: deploy.yml skipped ${gateJob.id}; playing it anyway to see what the gate says (it decides nothing)`,
      );
      // Only the gate step, at the load test's own span (its step outputs are not replayed).
      const gateStep = gateJob.steps.find((st) => st.uses === './actions/slo-gate')!;
      const gateOnly = {
        ...gateJob,
        if: 'always()',
        steps: [
          {
            ...gateStep,
            if: 'always()',
            with: {
              ...gateStep.with,
              'start-time': state.loadStartedAt ?? '',
              'end-time': state.loadEndedAt ?? '',
              'summary-path': state.load?.config.summaryPath ?? '',
            },
          },
        ],
      };
      const diagnostic = await playWorkflow(
        { ...workflow, jobs: [gateOnly] },
        { ...playerOptions, numbering: { label: '[diagnostic]' } },
        new Map([...records].filter(([id]) => id !== gateJob.id)),
      );
      const record = diagnostic.get(gateJob.id);
      if (record)
        records.set(`${gateJob.id} (diagnostic)`, {
          ...record,
          job: { ...record.job, id: `${gateJob.id} (diagnostic)` },
        });
    }
    // The called jobs are listed; deploy.yml's calling job is their sum.
    const played = [...records.values()].filter((r) => !r.caller);
    for (const r of played) {
      progress.timings.push({
        index: progress.timings.length + 1,
        name: `job ${r.job.id}`,
        workflowStep: r.job.name,
        ms: r.ms,
        outcome: r.result === 'success' ? 'ok' : r.result === 'failure' ? 'failed' : 'skipped',
        ...(r.failure ? { detail: r.failure } : {}),
      });
    }

    // Production's clients ran through its job; what production runs now is read back from the stand-in.
    const traffic = await state.productionTraffic?.stop();
    if (traffic) progress.log(`production's clients: ${traffic.rounds} rounds until ${traffic.endedAt}`);
    const verifyingJob = neighbourVerifyingJob(workflow);
    const production = interrupted
      ? undefined
      : await productionOutcome(state, verifyingJob ? records.get(verifyingJob) : undefined, branch);
    if (production) print(`\n${await summary.write(production.sections)}`);
    const neighbour = await judgeNeighbourOf(state, args.fault, (l) => progress.log(l));
    if (neighbour) print(`\n${await summary.write(neighbour.sections)}`);
    const decision = decide({
      promoted: records.get('production')?.result === 'success',
      jobs: played.map((r) => ({ id: r.job.id, result: r.result, failure: r.failure })),
      load: state.load?.combined,
      gate: state.gate?.report,
      gateDiagnostic,
      sessions: args.session !== undefined,
      // A fault in the neighbour is judged there (neighbour-gate.ts); staging has none.
      fault: args.faultInNeighbour ? undefined : args.fault,
      ...(state.verification ? { verification: state.verification.gate.report } : {}),
      rolledBack: production?.rolledBack === true,
      ...(state.canary ? { canary: state.canary.gate.report } : {}),
      canaryRemoved:
        verifyingJob !== undefined && records.get(verifyingJob)?.outputs['canary-removed'] === 'true',
    });
    const scaled = args.scaleUp ? judgeScaleUp(state.scaleUpRecord, state.load?.summary.metrics) : undefined;
    if (scaled) print(`\n${await summary.write(scaled.sections)}`);
    const roll = state.standIn?.cluster.lastRoll;
    const rollout =
      roll && state.loadStartedAt && state.load
        ? rolloutFigures(
            roll,
            { startedAt: state.loadStartedAt, durationMs: state.load.combined.testRunDurationMs },
            state.load.summary.metrics,
          )
        : undefined;
    if (rollout) print(`\n${await summary.write([rolloutSection(rollout)])}`);
    progress.continueAt(total);
    await progress.step('stop everything', 'cleanup', () => teardown.run());
    print(
      `\n${await summary.write(
        decisionSummary(decision, progress.timings, {
          fault: args.fault,
          faultActions: state.faultRecord?.actions,
          totalMs: progress.elapsedMs,
        }),
      )}`,
    );
    writeFileSync(
      join(args.summaryDir, 'decision.json'),
      `${JSON.stringify({ ...decision, fault: args.fault?.name ?? null, faultIn: args.fault ? (args.faultInNeighbour ? 'production' : 'staging') : null, neighbour: neighbour ? { environment: neighbour.environment, selector: neighbour.selector, verdict: neighbour.verdict, failedObjectives: neighbour.failedObjectives, ok: neighbour.ok } : null, production: production ? { verdict: production.verdict ?? null, failedObjectives: production.failedObjectives, rolledBack: production.rolledBack, previousImage: production.previousImage, promotedImage: production.promotedImage, deployBranchImage: production.deployBranchImage, revisions: Object.fromEntries(production.revisions), endsOn: production.endsOn } : null, scaleUp: scaled ? { ok: scaled.ok, line: scaled.line, ...state.scaleUpRecord } : null, canaryValues: state.canary ? state.canary.gate.report.results.map((r) => ({ name: r.name, canary: r.value ?? null, stable: r.baseline?.value ?? null })) : null, productionSyncs: (state.productionSyncs ?? []).map((p) => ({ ok: p.ok, image: p.image, canaryImage: p.canaryImage ?? null, canaryStarted: p.canaryStarted ?? null, canaryPruned: p.canaryPruned ?? null, moved: p.moved ?? null, from: p.from, to: p.to })), productionTraffic: traffic ?? null, rollout: rollout ? { ...rollout, events: roll?.events ?? [] } : null, timings: progress.timings, totalMs: progress.elapsedMs }, null, 2)}\n`,
    );
    for (const line of [
      ...decision.lines,
      ...(production?.lines ?? []),
      ...(neighbour?.lines ?? []),
      ...(scaled ? [scaled.line] : []),
      ...(rollout ? [rolloutLine(rollout)] : []),
    ])
      print(line);
    print(
      `\nrehearse: job summary ${summary.htmlPath}, markdown ${summary.markdownPath}, page with charts ${summary.pagePath} (${formatDuration(progress.elapsedMs)})`,
    );
    // A fault that the pipeline would have promoted through, or that its objective missed, is a failed rehearsal too.
    // So is a gate that judged the wrong environment (neighbour-gate.ts).
    const missed = args.fault && !args.faultInNeighbour && !decision.faultAsExpected;
    // A rollback must leave production on the previous release, a promotion on the promoted one.
    const misplaced =
      production !== undefined &&
      (decision.rolledBack || decision.canaryRemoved
        ? production.endsOn !== 'previous'
        : decision.promote && production.endsOn !== 'promoted');
    if (misplaced)
      print(`rehearse: production ends on the ${production?.endsOn} release, not the one the decision says`);
    exitCode =
      missed || misplaced || (neighbour && !neighbour.ok) || (scaled && !scaled.ok)
        ? 3
        : decision.rolledBack
          ? 4
          : decision.canaryRemoved
            ? 5
            : decision.promote
              ? 0
              : 2;
  } finally {
    if (!interrupted) await teardown.run();
  }
  if (!interrupted) process.exit(exitCode);
}

main().catch((e: unknown) => {
  // After a signal, failures of what is being stopped are expected; the handler exits with 130.
  if (interrupted) return;
  console.error(e);
  process.exit(1);
});
