// The stand-in cluster for preview Applications (argocd-standin.ts deploys through it): each
// Application's render is played as one Argo CD sync on its own StandInCluster (PostgreSQL, Redis,
// the migration Job, the server pods), then nginx stands in for the preview Ingress. A pod's image
// must be one the workflow's image job produced for this rehearsal -- anything else is what the
// kubelet would answer: ImagePullBackOff. A cascade delete stops all of it.
import { join } from 'node:path';
import type { Application } from '../../../pipeline/src/argocd/index.js';
import type { RenderedObject } from '../../../pipeline/src/kustomize/index.js';
import type { NginxProxy } from '../../../testkit/src/nginx.js';
import type { K8sObject } from '../../../pipeline/src/validate/index.js';
import type { ApplicationDeployer, DeployOutcome } from './argocd-standin.js';
import type { Replica } from './replicas.js';
import { pullImage, startIngress, startReplicas, type StandInOptions } from './standin.js';
import { StandInCluster } from './standin-cluster.js';
import { runSync } from './sync-run.js';
import { Teardown } from './teardown.js';

/** One deployed preview. */
export interface PreviewInstance {
  application: string;
  namespace: string;
  commit: string;
  objects: K8sObject[];
  /** The image Deployment/switchboard runs. */
  image: string;
  replicas: Replica[];
  env: Record<string, string>;
  secrets: Record<string, Record<string, string>>;
  nginx?: NginxProxy;
  /** Stops everything of this preview (once) and unregisters it from the rehearsal's teardown. */
  stop: () => Promise<void>;
}

/** What the preview stand-in needs from the rehearsal. */
export interface PreviewClusterOptions {
  runId: string;
  dir: string;
  summaryDir: string;
  mode: 'container' | 'process';
  /** Image references the workflow's image job built (and, with images, pushed) so far. */
  images: Set<string>;
  /** The rehearsal's own teardown: a preview still running at the end is stopped with it. */
  teardown: Teardown;
  log: (line: string) => void;
  interrupted: () => boolean;
}

/** The server image of the render. */
export function serverImage(objects: K8sObject[]): string {
  const d = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'switchboard');
  return (
    (d?.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined)?.template?.spec
      ?.containers?.[0]?.image ?? ''
  );
}

/** Runs preview Applications on this machine, one StandInCluster each. */
export class PreviewCluster implements ApplicationDeployer {
  readonly instances = new Map<string, PreviewInstance>();
  private syncs = 0;

  constructor(private readonly opts: PreviewClusterOptions) {}

  async deploy(
    name: string,
    app: Application,
    commit: string,
    rendered: RenderedObject[],
  ): Promise<DeployOutcome> {
    // The stand-in re-creates a changed preview (a cluster would roll the Deployment and keep its data).
    await this.remove(name);
    const objects = rendered as unknown as K8sObject[];
    const image = serverImage(objects);
    const namespace = app.spec?.destination?.namespace ?? '';
    const teardown = new Teardown(this.opts.log);
    const stop = this.opts.teardown.add(`preview ${name}`, () => teardown.run());
    const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'switchboard');
    const replicas = (deployment?.spec as { replicas?: number } | undefined)?.replicas ?? 1;
    const standIn: StandInOptions = {
      objects,
      replicas,
      mode: this.opts.mode,
      scrapeIntervalMs: 1000,
      runId: `${this.opts.runId}-${namespace}-${++this.syncs}`,
      dir: this.opts.dir,
      logDir: join(this.opts.summaryDir, 'pods', namespace),
      teardown,
      log: (l) => this.opts.log(`${namespace}: ${l}`),
      interrupted: this.opts.interrupted,
    };
    const instance: PreviewInstance = {
      application: name,
      namespace,
      commit,
      objects,
      image,
      replicas: [],
      env: {},
      secrets: {},
      stop,
    };
    // Registered before the sync, so a failed one is removed too.
    this.instances.set(name, instance);
    const cluster = new StandInCluster(standIn, image, async (c) => {
      // The kubelet pulls the pod's image first.
      if (!this.opts.images.has(image)) {
        throw new Error(
          `ImagePullBackOff: Back-off pulling image "${image}": not in the registry (this rehearsal's image job pushed ${[...this.opts.images].join(', ') || 'nothing'})`,
        );
      }
      await startReplicas(standIn, c);
    });
    // The kubelet pulls a known image before the first pod of it (the migration Job's) starts; the
    // loopback registry speaks plain HTTP. An unknown one fails the Job's pull in container mode.
    if (this.opts.mode === 'container' && this.opts.images.has(image)) await pullImage(image);
    const sync = await runSync(objects, cluster, standIn.log);
    instance.replicas = cluster.replicas;
    instance.secrets = cluster.secrets;
    if (cluster.podEnvOf && cluster.replicas.length > 0) instance.env = cluster.podEnvOf(0);
    if (sync.phase !== 'Succeeded') {
      return {
        phase: 'Failed',
        message: sync.message,
        health: { status: 'Degraded', message: sync.message },
      };
    }
    const edge = await startIngress(standIn, cluster.replicas);
    instance.nginx = edge.nginx;
    return {
      phase: 'Succeeded',
      message: `successfully synced (all tasks run): ${replicas} pod(s) of ${image}`,
      health: { status: 'Healthy', message: `${cluster.replicas.length} pod(s) ready on /readyz` },
    };
  }

  async remove(name: string): Promise<void> {
    const instance = this.instances.get(name);
    if (!instance) return;
    this.instances.delete(name);
    await instance.stop();
  }
}
