// Staging as it runs before the deploy: the previous release. deploy.yml's staging job starts the load
// test and then syncs, so the sync must find pods to replace, as it does on a cluster. The rehearsal
// syncs the render committed on the deploy branch (rendered/staging as seeded) into the stand-in before
// the workflow starts. Its pods run the working tree as processes (the image it pins is not in the
// loopback registry), told apart from the deploy's pods by SWITCHBOARD_REVISION, which the server
// exports as switchboard_build_info{revision}: the deploy's sync sees a different pod template and
// rolls them (standin-sync.ts).
import { findApplication, type RehearsalState } from './handlers.js';
import { readRenderedObjects } from './checkout.js';
import type { K8sObject } from '../../../pipeline/src/validate/index.js';
import type { StandInOptions } from './standin.js';
import { startStandIn } from './standin-sync.js';

/** SWITCHBOARD_REVISION of the previous release's pods. */
export const PREVIOUS_REVISION = 'previous-release';

/** The staging Application deploy.yml syncs. */
const application = 'switchboard-staging';

/**
 * What the rehearsal adds to the server pods: the release's SWITCHBOARD_REVISION, a drain window that
 * fits the load (so the rolling update's drains end inside it), and `extra` (e.g. the rebalancer).
 */
export function releaseEnv(
  release: 'previous' | 'deploy',
  opts: { sha: string; loadMs: number; extra?: StandInOptions['extraEnv'] },
): NonNullable<StandInOptions['extraEnv']> {
  const drainMs = Math.min(30_000, Math.round(opts.loadMs / 10));
  return {
    ...opts.extra,
    SWITCHBOARD_REVISION:
      release === 'previous'
        ? {
            value: PREVIOUS_REVISION,
            why: 'the previous release: the working tree, told apart by its revision',
          }
        : { value: opts.sha.slice(0, 40), why: 'the deploy: the commit rehearsed' },
    DRAIN_WINDOW_MS: {
      value: String(drainMs),
      why: "a tenth of the load's duration, so the rolling update's drains end inside the load test (the ConfigMap's value suits a cluster's longer load)",
    },
  };
}

/** Syncs the committed staging render into the stand-in: the pods the deploy will replace. */
export async function startPreviousRelease(
  state: RehearsalState,
  opts: { branch: string; log: (line: string) => void },
): Promise<string> {
  const app = findApplication(state.root, application);
  const { commit, objects: rendered } = await readRenderedObjects(state.repos, opts.branch, app.path);
  const objects = rendered as unknown as K8sObject[];
  const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'switchboard');
  const image =
    (deployment?.spec as { template?: { spec?: { containers?: { image?: string }[] } } } | undefined)
      ?.template?.spec?.containers?.[0]?.image ?? '';
  const r = await startStandIn(state, {
    application,
    revision: opts.branch,
    commit,
    path: app.path,
    objects,
    image,
    mode: 'process',
    extraEnv: state.podEnv('previous'),
    log: opts.log,
  });
  if (r.sync.phase !== 'Succeeded') {
    throw new Error(`the previous release of ${application} did not sync: ${r.sync.message}`);
  }
  return `${application} at ${commit.slice(0, 12)} (${app.path}): ${state.replicas} pods, revision ${PREVIOUS_REVISION}`;
}
