// How the stand-in runs a Job's pod to completion: the server image's Jobs as podman containers of
// the pushed image (or, with --skip-image, the working tree's module), other images' Jobs as their
// command on this machine with their ConfigMap volumes written to a temp dir (the Redis Cluster's
// create script then uses this machine's sh and redis-cli).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { K8sObject } from '../../../pipeline/src/validate/index.js';
import type { ContainerSpec } from './manifests.js';
import { runJobContainer } from './replicas.js';
import { $, run } from '../zx.js';

/**
 * How a Job's command is spawned on this machine. zx runs it through `bash -c`, and Node gives a child
 * its stdin as a socket pair: bash takes a socket on stdin at shell level 1 (no SHLVL in the Job's own
 * environment) for a remote shell's and sources ~/.bashrc, as it would under rshd. On a machine whose
 * ~/.bashrc runs `pyenv init -`, every Job then waited on `pyenv rehash`'s lock (up to its 60 s
 * timeout while another shell held it: "/root/.pyenv/shims/.pyenv-shim: cannot overwrite existing
 * file"), so a sync's wave of Jobs took over a minute. A pod's container has no stdin unless it asks
 * for one (`stdin: true`): the Job gets none here either, and its shell reads no startup file.
 */
export const jobSpawn = { stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'] };

/** The parts of a pod template the stand-in reads. */
export interface PodSpecLike {
  containers?: {
    name: string;
    image?: string;
    env?: { valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
    volumeMounts?: { name: string; mountPath: string }[];
  }[];
  volumes?: { name: string; configMap?: { name: string; items?: { key: string; path: string }[] } }[];
}

/** A workload's pod template spec (empty when it has none). */
export function podSpec(obj: K8sObject): PodSpecLike {
  return (obj.spec as { template?: { spec?: PodSpecLike } } | undefined)?.template?.spec ?? {};
}

/** Runs a Job of the server image; returns its output, throws (with stdout/stderr) when it fails. */
export async function runServerImageJob(
  spec: ContainerSpec,
  env: Record<string, string>,
  opts: { name: string; mode: 'container' | 'process'; runId: string; dir: string; timeoutMs: number },
): Promise<string> {
  if (opts.mode === 'container') {
    return runJobContainer(spec, env, {
      name: `${opts.runId}-${opts.name}`,
      label: `io.switchboard.rehearsal=${opts.runId}`,
      dir: opts.dir,
      timeoutMs: opts.timeoutMs,
    });
  }
  // --skip-image: the working tree's module for the image's `node server/dist/<path>.js`.
  const path = spec.command?.find((a) => /^server\/dist\/.+\.js$/.test(a));
  if (!path)
    throw new Error(`Job/${opts.name}: --skip-image runs only "node server/dist/<module>.js" commands`);
  const module = fileURLToPath(
    new URL(
      `../../../${path.replace(/^server\/dist\//, 'server/src/').replace(/\.js$/, '.ts')}`,
      import.meta.url,
    ),
  );
  const { stdout, stderr } = await run(
    $({
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      timeout: opts.timeoutMs,
      ...jobSpawn,
    })`${process.execPath} --import tsx ${module}`,
  );
  return stdout + stderr;
}

/** Runs a third-party image's Job with this machine's tools; its ConfigMap volumes from `configMaps`. */
export async function runJobOnThisMachine(
  job: K8sObject,
  spec: ContainerSpec,
  env: Record<string, string>,
  opts: { configMaps: K8sObject[]; dir: string; timeoutMs: number },
): Promise<string> {
  const pod = podSpec(job);
  const container = pod.containers?.[0];
  const dir = join(opts.dir, `job-${job.metadata.name}`);
  const mounts: [string, string][] = [];
  for (const m of container?.volumeMounts ?? []) {
    const volume = pod.volumes?.find((v) => v.name === m.name)?.configMap;
    if (!volume) continue;
    const cm = opts.configMaps.find((a) => a.metadata.name === volume.name);
    if (!cm)
      throw new Error(
        `volume ${m.name}: ConfigMap/${volume.name} has not been applied (the pod never starts)`,
      );
    const data = (cm as unknown as { data?: Record<string, string> }).data ?? {};
    const at = join(dir, m.name);
    mkdirSync(at, { recursive: true });
    for (const { key, path } of volume.items ?? Object.keys(data).map((k) => ({ key: k, path: k }))) {
      if (data[key] === undefined) throw new Error(`ConfigMap/${volume.name} has no key ${key}`);
      writeFileSync(join(at, path), data[key]);
    }
    mounts.push([m.mountPath, at]);
  }
  const command = (spec.command ?? []).map((arg) => {
    for (const [mountPath, at] of mounts)
      if (arg.startsWith(`${mountPath}/`)) return at + arg.slice(mountPath.length);
    return arg;
  });
  if (command.length === 0) throw new Error(`Job/${job.metadata.name} has no command to run on this machine`);
  const { stdout, stderr } = await run(
    $({ env: { PATH: process.env.PATH ?? '', ...env }, timeout: opts.timeoutMs, ...jobSpawn })`${command}`,
  );
  return stdout + stderr;
}
