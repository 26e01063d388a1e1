#!/usr/bin/env -S npx tsx
// Rehearses the deploy pipeline on this machine, with real parts and the actions' own code, and
// without a cluster (docs/rehearsal.md):
//   1. build the server image with buildah on a base made from this machine; push it to a registry
//      on 127.0.0.1 (skipped with --skip-image: the pods then run the working tree as processes)
//   2. pin overlays/staging to the pushed digest, render it, validate it like `npm run validate`
//   3. "sync" the render to a stand-in for the cluster, in Argo CD's order: Redis and PostgreSQL
//      (with the Secret's keys generated), the PreSync migration Job, the Deployment's pods (podman
//      containers of the pushed image, run as the pod spec says), the Ingress (nginx configured from
//      its ingress-nginx annotations), monitoring (Prometheus with the PrometheusRule, scraping the pods)
//   4. run the fan-out scenario through the Ingress on the Node load runner (k6-loadtest's engine:
//      node), injecting --fault while it runs
//   5. evaluate slo/generated/gate.json against the local Prometheus with the slo-gate code
//   6. print the promotion decision and the job-summary tables the workflow writes (also to files)
//   7. stop everything it started -- also on Ctrl-C
// Exit: 0 promote, 2 do not promote (a threshold or objective failed), 3 a --fault went unnoticed (the
// pipeline would have promoted), 1 the rehearsal broke, 130 interrupted.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs as parseNodeArgs } from 'node:util';
import { code, keyValueTable, table, type SummarySection } from '../actions/shared/src/summary/index.js';
import { gateConfig, loadTestConfig, runLoadTest, runSloGate, type Inputs } from './lib/rehearse/actions.js';
import { decide, decisionSummary } from './lib/rehearse/decision.js';
import { faultNames, findFault, type Fault, type FaultRecord } from './lib/rehearse/faults.js';
import { buildAndPush, startLocalRegistry, type PushedImage } from './lib/rehearse/image.js';
import { Progress, formatDuration } from './lib/rehearse/progress.js';
import { renderPinnedOverlay, formatProblems, type RenderedOverlay } from './lib/rehearse/render.js';
import { workDir } from './lib/rehearse/replicas.js';
import {
  describeEnv,
  pullImage,
  runMigrationJob,
  startBackingServices,
  startIngress,
  startMonitoring,
  startReplicas,
  type StandInOptions,
} from './lib/rehearse/standin.js';
import { StepSummary } from './lib/rehearse/summary-text.js';
import { killDescendants, Teardown } from './lib/rehearse/teardown.js';
import { renderObjects } from './lib/validate/index.js';

const usage = `Usage: npm run rehearse -- [options]

  --short             a quick run: ${'30'} VUs for 40s, 5s soak, 1s scrapes (about 2-3 minutes
                      without the image build)
  --fault <name>      inject a fault during the load: ${faultNames.join(', ')}
  --skip-image        do not build the image; the pods run the working tree as processes
  --replicas <n>      server pods (default 3)
  --vus <n>           virtual users (default 100; --short 30)
  --duration <d>      load duration, k6 syntax (default 2m; --short 40s)
  --soak <seconds>    wait after the load before the gate's final evaluation (default 30; --short 5)
  --overlay <dir>     overlay to render (default overlays/staging)
  --summary-dir <dir> where the job summary files go (default: a new temp dir, printed)
  -h, --help          this text

Every option can also come from the environment: REHEARSE_FAULT, REHEARSE_SKIP_IMAGE=1, REHEARSE_SHORT=1,
REHEARSE_REPLICAS, REHEARSE_VUS, REHEARSE_DURATION, REHEARSE_SOAK, REHEARSE_OVERLAY, REHEARSE_SUMMARY_DIR
(a flag wins over the environment).

Exit status: 0 promote, 2 do not promote, 3 the --fault went unnoticed (would have promoted),
1 the rehearsal itself failed, 130 interrupted.`;

/** The rehearsal's settings after flags, environment and defaults. */
interface Args {
  short: boolean;
  fault?: Fault;
  skipImage: boolean;
  replicas: number;
  vus: number;
  duration: string;
  durationMs: number;
  soakSeconds: number;
  overlay: string;
  summaryDir: string;
  scrapeIntervalMs: number;
  /** How long one load-test session lasts before the VU reconnects (SESSION). */
  sessionMs: number;
  /** When the fault starts, after the load started, and how long it lasts. */
  faultAtMs: number;
  faultHoldMs: number;
}

function fail(message: string): never {
  console.error(`rehearse: ${message}\n\n${usage}`);
  process.exit(1);
}

function positiveInt(name: string, raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1) fail(`${name}: "${raw}" is not a positive whole number`);
  return n;
}

function durationMs(raw: string): number {
  const m = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(raw);
  if (!m || (!m[1] && !m[2])) fail(`--duration: "${raw}" is not a duration such as 40s, 2m or 1m30s`);
  return (Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0)) * 1000;
}

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): Args {
  let values;
  try {
    ({ values } = parseNodeArgs({
      args: argv,
      options: {
        short: { type: 'boolean' },
        fault: { type: 'string' },
        'skip-image': { type: 'boolean' },
        replicas: { type: 'string' },
        vus: { type: 'string' },
        duration: { type: 'string' },
        soak: { type: 'string' },
        overlay: { type: 'string' },
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
  const duration = values.duration ?? env.REHEARSE_DURATION ?? (short ? '40s' : '2m');
  const ms = durationMs(duration);
  if (ms < 20_000)
    fail(`--duration: ${duration} is too short to inject a fault and judge it; give at least 20s`);
  const soakRaw = values.soak ?? env.REHEARSE_SOAK ?? (short ? '5' : '30');
  const soakSeconds = Number(soakRaw);
  if (!Number.isFinite(soakSeconds) || soakSeconds < 0)
    fail(`--soak: "${soakRaw}" is not a number of seconds`);
  const sessionMs = short ? 10_000 : 30_000;
  const timing = fault?.timing(sessionMs);
  // Leave time after the fault to see the recovery (kill-node's pod needs its start-up too).
  if (timing && ms < timing.atMs + timing.holdMs + 15_000) {
    fail(
      `--duration: ${duration} leaves no room for the fault (it starts at ${timing.atMs / 1000}s and lasts ` +
        `${timing.holdMs / 1000}s); give at least ${(timing.atMs + timing.holdMs + 15_000) / 1000}s`,
    );
  }
  return {
    short,
    ...(fault ? { fault } : {}),
    skipImage: flag(values['skip-image'], env.REHEARSE_SKIP_IMAGE),
    replicas: positiveInt('--replicas', values.replicas ?? env.REHEARSE_REPLICAS ?? '3'),
    vus: positiveInt('--vus', values.vus ?? env.REHEARSE_VUS ?? (short ? '30' : '100')),
    duration,
    durationMs: ms,
    soakSeconds,
    overlay: values.overlay ?? env.REHEARSE_OVERLAY ?? 'overlays/staging',
    summaryDir:
      values['summary-dir'] ??
      env.REHEARSE_SUMMARY_DIR ??
      mkdtempSync(join(tmpdir(), 'switchboard-rehearsal-')),
    scrapeIntervalMs: short ? 1000 : 2000,
    sessionMs,
    faultAtMs: timing?.atMs ?? 0,
    faultHoldMs: timing?.holdMs ?? 0,
  };
}

function gitRevision(root: string): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: root,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return 'unknown';
  }
}

/** Set by the first SIGINT/SIGTERM; the signal handler then owns the exit. */
let interrupted = false;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), process.env);
  const root = fileURLToPath(new URL('..', import.meta.url));
  const runId = `rh${process.pid}`;
  const print = (line: string) => console.log(line);
  const total = 11;
  const progress = new Progress(total, print);
  const teardown = new Teardown((line) => progress.log(line), true);
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      print(`rehearse: second ${signal}: killing what is left`);
      void killDescendants().then(() => process.exit(130));
      return;
    }
    interrupted = true;
    print(`\nrehearse: ${signal}: stopping everything it started (Ctrl-C again to kill at once)`);
    void teardown.run(15_000).then(() => {
      print('rehearse: stopped');
      process.exit(130);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const summary = new StepSummary(
    join(args.summaryDir, 'job-summary.md'),
    join(args.summaryDir, 'rehearsal.md'),
  );
  const show = async (sections: SummarySection[]) => {
    const md = await summary.write(sections);
    print(`\n${md}`);
  };
  const revision = gitRevision(root);
  print(
    `rehearse: ${args.fault ? `fault ${args.fault.name}` : 'healthy run'}, ${args.replicas} pods, ${args.vus} VUs for ${args.duration}` +
      `, soak ${args.soakSeconds}s, revision ${revision}; summaries in ${args.summaryDir}`,
  );

  let exitCode: number;
  try {
    // 1. Build and push (build-image).
    let image: PushedImage | undefined;
    if (args.skipImage) {
      progress.skip('build and push the image', 'build-image', '--skip-image: the pods run the working tree');
    } else {
      image = await progress.step(
        'build and push the image',
        'build-image',
        async () => {
          const registry = await startLocalRegistry(teardown);
          return buildAndPush({ root, registry, runId, revision, teardown, log: (l) => progress.log(l) });
        },
        (i) => i.reference,
      );
      await show([
        {
          heading: 'Image',
          level: 2,
          table: keyValueTable([
            ['Image', code(image.reference)],
            ['Base', code(image.baseImage)],
            ['Registry', code(image.registry.url)],
            ['Revision', revision],
            ['Build and push', formatDuration(image.buildMs)],
          ]),
        },
      ]);
    }

    // 2. Render and validate (render-manifests).
    const rendered: RenderedOverlay = await progress.step(
      `render and validate ${args.overlay}`,
      'render-manifests',
      async () => {
        if (image) {
          return renderPinnedOverlay(root, args.overlay, {
            name: 'ghcr.io/switchboard/server',
            newName: image.repository,
            digest: image.digest,
          });
        }
        const objects = await renderObjects(args.overlay, root);
        const { validateObjects } = await import('./lib/validate/index.js');
        const problems = await validateObjects({ target: args.overlay, objects, requireDigests: true });
        return {
          overlay: args.overlay,
          objects,
          image: '(working tree)',
          problems,
          imagesEntry: '(as committed)',
        };
      },
      (r) => `${r.objects.length} objects, ${r.problems.length} problems`,
    );
    if (rendered.problems.length > 0) {
      throw new Error(`${args.overlay} does not validate:\n${formatProblems(rendered.problems)}`);
    }
    await show([
      {
        heading: `Rendered ${args.overlay}`,
        level: 2,
        table: keyValueTable([
          ['Overlay', code(args.overlay)],
          ['Pinned image', code(rendered.image)],
          ['Objects', rendered.objects.length],
          ['Validation', 'schemas, unknown fields and review policies: no problems'],
        ]),
      },
    ]);

    // 3-7. Sync to the stand-in (argocd-sync).
    const dir = workDir();
    const opts: StandInOptions = {
      objects: rendered.objects,
      replicas: args.replicas,
      mode: image ? 'container' : 'process',
      scrapeIntervalMs: args.scrapeIntervalMs,
      runId,
      dir,
      logDir: join(args.summaryDir, 'pods'),
      teardown,
      log: (l) => progress.log(l),
      interrupted: () => interrupted,
    };
    const backing = await progress.step(
      'sync: Redis, PostgreSQL and the Secret',
      'argocd-sync',
      () => startBackingServices(opts),
      (b) => `redis ${b.redis.url}, postgresql 127.0.0.1:${b.postgres.port}`,
    );
    const migration = await progress.step(
      'sync: PreSync hook (migration Job)',
      'argocd-sync',
      async () => {
        if (image) await pullImage(image.reference);
        return runMigrationJob(opts, backing);
      },
      (m) => m,
    );
    const pods = await progress.step(
      `sync: Deployment/switchboard (${args.replicas} pods)`,
      'argocd-sync',
      () => startReplicas(opts, backing),
      (p) => p.replicas.map((r) => `${r.name}@${r.port}`).join(', '),
    );
    const { nginx, ingress } = await progress.step(
      'sync: Ingress (nginx)',
      'argocd-sync',
      () => startIngress(opts, pods.replicas),
      (i) => `${i.nginx.httpUrl}, paths ${i.ingress.nginx.paths?.join(' ')}`,
    );
    const monitoring = await progress.step(
      'sync: ServiceMonitor and PrometheusRule (Prometheus)',
      'argocd-sync',
      () => startMonitoring(opts, pods.replicas),
      (m) => `${m.prometheus.url}, ${m.groups} rule groups, every pod scraped`,
    );
    const env = describeEnv(pods.spec, pods.envOf(0));
    await show([
      {
        heading: 'Sync (stand-in for the cluster)',
        level: 2,
        table: keyValueTable([
          ['Pods', pods.replicas.map((r) => `${r.name} on 127.0.0.1:${r.port} (${r.where()})`).join('; ')],
          ['Migration', migration],
          ['Ingress', `${nginx.httpUrl}: ${ingress.nginx.paths?.join(', ')}`],
          [
            'Ingress annotations',
            Object.entries(ingress.annotations)
              .map(([k, v]) => `${k}=${v}`)
              .join(', '),
          ],
          ['Prometheus', code(monitoring.prometheus.url)],
          ['Redis', code(backing.redis.url)],
        ]),
      },
      {
        heading: 'Server environment (pod 0)',
        table: table(
          ['Variable', 'Value', 'From'],
          env.map((e) => [e.name, e.value, e.source]),
        ),
      },
    ]);

    // 8. Load test (k6-loadtest, engine node), with the fault.
    const secrets = Object.values(backing.secrets)[0] ?? {};
    const loadInputs: Inputs = {
      scenario: 'fanout',
      mode: 'local',
      engine: 'node',
      url: nginx.socketUrl,
      'jwt-secret': secrets.JWT_SECRET ?? '',
      vus: String(args.vus),
      duration: args.duration,
      // Sessions end and reconnect during the load, as real clients come and go: the gate's ratio
      // objectives judge events inside the window, and joins that all happened in the first scrape
      // leave switchboard_joins_total flat (no data, inconclusive).
      env: ['ROOMS=5', 'PUBLISHERS=2', 'PUBLISH_INTERVAL=200ms', `SESSION=${args.sessionMs / 1000}s`].join(
        '\n',
      ),
      'summary-path': join(args.summaryDir, 'fanout-summary.json'),
      'fail-on-thresholds': 'true',
    };
    const loadConfig = loadTestConfig(loadInputs, root, args.summaryDir);
    let faultRecord: FaultRecord | undefined;
    const loadStartedAt = Date.now();
    const load = await progress.step(
      `load test: fanout, ${args.vus} VUs for ${args.duration} through the Ingress${args.fault ? `, fault ${args.fault.name}` : ''}`,
      'k6-loadtest',
      async () => {
        let lines = 0;
        const running = runLoadTest(loadConfig, (line) => {
          if (lines++ % 5 === 0) progress.log(line);
        });
        let injected: Promise<FaultRecord> | undefined;
        if (args.fault) {
          const fault = args.fault;
          injected = new Promise<void>((r) => setTimeout(r, args.faultAtMs)).then(() => {
            progress.log(`injecting fault ${fault.name}: ${fault.description}`);
            return fault.inject({
              replicas: pods.replicas,
              redis: backing.redis,
              ingressUrl: nginx.httpUrl,
              apiToken: secrets.API_TOKEN ?? '',
              jwtSecret: secrets.JWT_SECRET ?? '',
              holdMs: args.faultHoldMs,
              log: (l) => progress.log(l),
            });
          });
        }
        const [outcome, record] = await Promise.all([running, injected]);
        faultRecord = record;
        return outcome;
      },
      (o) =>
        `${o.combined.passed ? 'passed' : 'FAILED'} (${o.combined.thresholds.filter((t) => t.ok).length}/${o.combined.thresholds.length} thresholds)`,
    );
    await show(load.sections);

    // 9. SLO gate (slo-gate) over a window that covers the load and the soak.
    const windowSeconds = Math.ceil((Date.now() - loadStartedAt) / 1000) + Math.ceil(args.soakSeconds) + 2;
    const gateInputs: Inputs = {
      'prometheus-url': monitoring.prometheus.url,
      'gate-file': 'slo/generated/gate.json',
      'soak-seconds': String(args.soakSeconds),
      window: `${windowSeconds}s`,
      'poll-interval-seconds': String(Math.max(1, Math.min(30, args.soakSeconds / 2 || 1))),
      'query-timeout-seconds': '30',
    };
    const proposals = args.fault?.proposal ? [args.fault.proposal] : [];
    const gate = await progress.step(
      `SLO gate: slo/generated/gate.json over ${windowSeconds}s after a ${args.soakSeconds}s soak`,
      'slo-gate',
      () => runSloGate(gateConfig(gateInputs, root), (l) => progress.log(l), proposals),
      (g) => `${g.report.verdict}`,
    );
    await show(gate.sections);

    // 10. Decision.
    const decision = await progress.step(
      'promotion decision',
      'promote',
      async () =>
        decide({
          loadTestPassed: load.combined.passed,
          failedThresholds: load.combined.thresholds
            .filter((t) => !t.ok)
            .map((t) => `${t.metric} ${t.expression}`),
          gate: gate.report,
          proposals: gate.proposals,
          fault: args.fault,
        }),
      (d) => (d.promote ? 'promote' : 'do not promote'),
    );

    // 11. Teardown, then the last summary with every step's timing.
    await progress.step('stop everything', 'cleanup', () => teardown.run());
    await show(
      decisionSummary(decision, progress.timings, {
        fault: args.fault,
        faultActions: faultRecord?.actions,
        proposals: gate.proposals,
        totalMs: progress.elapsedMs,
      }),
    );
    writeFileSync(
      join(args.summaryDir, 'decision.json'),
      `${JSON.stringify({ ...decision, fault: args.fault?.name ?? null, timings: progress.timings, totalMs: progress.elapsedMs }, null, 2)}\n`,
    );
    for (const line of decision.lines) print(line);
    print(
      `\nrehearse: job summary ${summary.htmlPath}, markdown ${summary.markdownPath} (${formatDuration(progress.elapsedMs)})`,
    );
    // A fault that the pipeline would have promoted through is a failed rehearsal too.
    exitCode = decision.promote ? (args.fault ? 3 : 0) : 2;
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
