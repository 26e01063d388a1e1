// The server Deployment's pods, stood in for by podman containers (the pushed image, run as the
// rendered pod spec says) or by plain processes (the working tree, with --skip-image). Both give
// the same handle, so faults and teardown do not care which it is.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { podmanRunLimits, runTool } from '../../../pipeline/src/image/index.js';
import { zxRunner } from '../zx.js';
import {
  listeningPorts,
  startSwitchboard,
  tempDir,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import type { ContainerSpec } from './manifests.js';

/** One server pod. */
export interface Replica {
  /** The pod name (also NODE_ID), e.g. switchboard-rehearsal-0. */
  name: string;
  port: number;
  /** METRICS_PORT: /metrics, /healthz and /readyz (what the ServiceMonitor and the probes use). */
  metricsPort: number;
  /** Where the process runs: `container <id>` or `pid <n>`. */
  where(): string;
  /** Freezes the pod (cgroup freezer / SIGSTOP): it holds its sockets but does nothing. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** SIGKILL, like an OOM kill or a node crash. */
  kill(): Promise<void>;
  /** Starts it again on the same port (the kubelet's restart), and waits until it is ready. */
  restart(): Promise<void>;
  /** SIGTERM with `graceSeconds` to drain, then SIGKILL; removes the container. */
  stop(graceSeconds: number): Promise<void>;
  /** The end of the pod's log (for failures). */
  logs(): Promise<string>;
  /** The whole log, every restart included. */
  fullLogs(): Promise<string>;
}

/**
 * Polls `url` until it answers 200, like a readiness probe. Throws with `describe()` after
 * `timeoutMs`, or at once when `exited()` (checked every 2 s) says the pod is gone.
 */
export async function waitReady(
  url: string,
  timeoutMs: number,
  describe: () => Promise<string>,
  exited: () => Promise<boolean> = async () => false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastCheck = Date.now();
  for (;;) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() - lastCheck > 2000) {
      lastCheck = Date.now();
      if (await exited())
        throw new Error(`the pod behind ${url} exited before it was ready:\n${await describe()}`);
    }
    if (Date.now() > deadline)
      throw new Error(`${url} not ready within ${timeoutMs} ms:\n${await describe()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `podman run` flags for a rendered container: user, read-only root, tmpfs, capabilities, memory. */
export function podmanSecurityArgs(spec: ContainerSpec): string[] {
  const args: string[] = [];
  if (spec.user) args.push('--user', spec.user);
  if (spec.readOnlyRootFilesystem) args.push('--read-only');
  for (const t of spec.tmpfs) {
    args.push('--tmpfs', `${t.path}${t.sizeBytes ? `:size=${t.sizeBytes}` : ''}`);
  }
  for (const cap of spec.dropCapabilities) args.push('--cap-drop', cap);
  if (spec.noNewPrivileges) args.push('--security-opt', 'no-new-privileges');
  if (spec.memoryLimitBytes) args.push('--memory', String(spec.memoryLimitBytes));
  return args;
}

/** Writes `env` to a 0600 env file, so secrets never appear on a command line (`ps`). */
export function writeEnvFile(dir: string, name: string, env: Record<string, string>): string {
  const file = join(dir, `${name}.env`);
  for (const [k, v] of Object.entries(env)) {
    if (/[\r\n]/.test(v)) throw new Error(`environment variable ${k} of ${name} holds a newline`);
  }
  writeFileSync(
    file,
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
    { mode: 0o600 },
  );
  chmodSync(file, 0o600);
  return file;
}

/** `podman run` as the pod spec says: limits, host network, security context, env file, command. */
function podmanRunArgs(
  mode: '--rm' | '--detach',
  spec: ContainerSpec,
  env: Record<string, string>,
  opts: { name: string; label: string; dir: string },
): string[] {
  return [
    'run',
    mode,
    '--name',
    opts.name,
    '--label',
    opts.label,
    ...podmanRunLimits,
    '--network',
    'host',
    ...podmanSecurityArgs(spec),
    '--env-file',
    writeEnvFile(opts.dir, opts.name, env),
    spec.image,
    ...(spec.command ?? []),
  ];
}

/** Runs the rendered container once to completion (a Job such as the migration), returning its output. */
export async function runJobContainer(
  spec: ContainerSpec,
  env: Record<string, string>,
  opts: { name: string; label: string; dir: string; timeoutMs: number },
): Promise<string> {
  const args = podmanRunArgs('--rm', spec, env, opts);
  try {
    const { stdout, stderr } = await runTool('podman', args, { timeoutMs: opts.timeoutMs, runner: zxRunner });
    return stdout + stderr;
  } finally {
    await runTool('podman', ['rm', '--force', '--time', '0', opts.name], { runner: zxRunner }).catch(
      () => undefined,
    );
  }
}

/** Starts one server pod as a podman container from the rendered spec; resolves once /readyz is 200. */
export async function startContainerReplica(
  spec: ContainerSpec,
  env: Record<string, string>,
  opts: {
    name: string;
    port: number;
    metricsPort: number;
    label: string;
    dir: string;
    readyTimeoutMs: number;
  },
): Promise<Replica> {
  const { stdout } = await runTool('podman', podmanRunArgs('--detach', spec, env, opts), {
    timeoutMs: 120_000,
    runner: zxRunner,
  });
  const id = stdout.trim().slice(0, 12);
  let saved: string | undefined;
  const podmanLogs = (extra: string[]) =>
    runTool('podman', ['logs', ...extra, opts.name], { runner: zxRunner }).then(
      (r) => r.stdout + r.stderr,
      (e: Error) => e.message,
    );
  const logs = () => podmanLogs(['--tail', '60']);
  const readyz = `http://127.0.0.1:${opts.metricsPort}/readyz`;
  const exited = () =>
    runTool('podman', ['inspect', '--format', '{{.State.Status}}', opts.name], { runner: zxRunner }).then(
      (r) => /exited|stopped|dead/.test(r.stdout),
      () => true,
    );
  const ready = async () => {
    await waitReady(readyz, opts.readyTimeoutMs, logs, exited);
    // With host networking another process could answer on a port this pod failed to bind
    // (EADDRINUSE): the pod must hold both listening sockets itself.
    const pid = Number(
      (await runTool('podman', ['inspect', '--format', '{{.State.Pid}}', opts.name], { runner: zxRunner }))
        .stdout,
    );
    const held = listeningPorts(pid);
    if (!held.includes(opts.port) || !held.includes(opts.metricsPort))
      throw new Error(
        `${opts.name} does not listen on ${opts.port} and ${opts.metricsPort}:\n${await logs()}`,
      );
  };
  await ready();
  return {
    name: opts.name,
    port: opts.port,
    metricsPort: opts.metricsPort,
    where: () => `container ${id}`,
    pause: async () => {
      await runTool('podman', ['pause', opts.name], { runner: zxRunner });
    },
    resume: async () => {
      await runTool('podman', ['unpause', opts.name], { runner: zxRunner });
    },
    kill: async () => {
      await runTool('podman', ['kill', '--signal', 'KILL', opts.name], { runner: zxRunner });
    },
    restart: async () => {
      await runTool('podman', ['start', opts.name], { timeoutMs: 120_000, runner: zxRunner });
      await ready();
    },
    stop: async (graceSeconds) => {
      await runTool('podman', ['stop', '--time', String(graceSeconds), opts.name], {
        timeoutMs: (graceSeconds + 30) * 1000,
        runner: zxRunner,
      }).catch(() => undefined);
      saved = await podmanLogs([]);
      await runTool('podman', ['rm', '--force', '--time', '0', opts.name], { runner: zxRunner }).catch(
        () => undefined,
      );
    },
    logs,
    fullLogs: async () => saved ?? podmanLogs([]),
  };
}

const serverMain = fileURLToPath(new URL('../../../server/src/main.ts', import.meta.url));

/** Starts one server pod as a process from the working tree (`server/src/main.ts` under tsx). */
export async function startProcessReplica(
  env: Record<string, string>,
  opts: { name: string; port: number; metricsPort: number; readyTimeoutMs: number },
): Promise<Replica> {
  let proc!: SwitchboardProcess;
  let launched = false;
  const earlier: string[] = [];
  const launch = async () => {
    if (launched) earlier.push(proc.output());
    launched = true;
    proc = await startSwitchboard(env, {
      port: opts.port,
      metricsPort: opts.metricsPort,
      readyTimeoutMs: opts.readyTimeoutMs,
    });
    await waitReady(`http://127.0.0.1:${opts.metricsPort}/readyz`, opts.readyTimeoutMs, async () =>
      proc.output().slice(-4000),
    );
  };
  await launch();
  const signal = (sig: NodeJS.Signals) => {
    if (proc.proc.child.exitCode === null && proc.proc.child.signalCode === null) proc.proc.child.kill(sig);
  };
  return {
    name: opts.name,
    port: opts.port,
    metricsPort: opts.metricsPort,
    where: () => `pid ${proc.proc.child.pid} (${serverMain})`,
    pause: async () => signal('SIGSTOP'),
    resume: async () => signal('SIGCONT'),
    kill: async () => {
      signal('SIGCONT');
      await proc.kill();
    },
    restart: launch,
    stop: async (graceSeconds) => {
      signal('SIGCONT');
      await proc.stop('SIGTERM', graceSeconds * 1000);
    },
    logs: async () => proc.output().slice(-4000),
    fullLogs: async () => [...earlier, proc.output()].join('\n--- restarted ---\n'),
  };
}

/** A temp dir for env files and configs, removed when the process exits. */
export function workDir(): string {
  return tempDir('rehearse');
}
