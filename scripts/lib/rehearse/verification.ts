// What production's job did after its sync, read back from the stand-in: the verification's verdict
// (the slo-gate step of the job that syncs production), whether the workflow restored the previous
// render (its `rolled-back` output), and what production runs at the end -- the deploy branch's
// rendered image and switchboard_build_info's revision on every serving pod.
import { join } from 'node:path';
import { formatValue, unmet, type Verdict } from '../../../actions/slo-gate/src/evaluate.js';
import { DEFAULT_GATE_FILE } from '../../../actions/slo-gate/src/config.js';
import { readGateFile } from '../../../actions/slo-gate/src/gate-file.js';
import { keyValueTable, type SummarySection } from '../../../pipeline/src/summary/index.js';
import { readRenderedObjects } from './checkout.js';
import { findApplication, type RehearsalState } from './handlers.js';
import type { K8sObject } from '../../../pipeline/src/validate/index.js';
import { revisionEnv } from './neighbour.js';
import type { JobRecord } from './player.js';
import { deploymentImage } from './manifests.js';
import { podRevisions } from './production-sync.js';

/**
 * vars.VERIFY_BASELINE_OBJECTIVES for the rehearsal: every objective of the gate file but the latency
 * quantiles. On this shared 2-core machine a test running beside the rehearsal moves p99 from one
 * window to the next by more than any regression bound means (fresh-clone runs of healthy syncs:
 * 67 ms before, 179 ms after; 9.3 ms before, 122 ms after), while the ratios stay put; latency is
 * still judged on its absolute bound. A cluster compares every objective (the variable unset).
 */
export function rehearsalComparedObjectives(root: string): string {
  const gate = readGateFile(join(root, DEFAULT_GATE_FILE));
  return gate.objectives
    .filter((o) => o.unit !== 'seconds')
    .map((o) => o.name)
    .join(',');
}

/** Production after the workflow. */
export interface ProductionOutcome {
  environment: string;
  /** The verification ran (production's render changed and its sync succeeded). */
  verified: boolean;
  verdict?: Verdict;
  failedObjectives: string[];
  /** The workflow restored the previous render (its job's `rolled-back` output). */
  rolledBack: boolean;
  previousImage: string;
  promotedImage: string;
  /** rendered/<env> of the deploy branch at the end. */
  deployBranchImage: string;
  /** Each serving pod's switchboard_build_info revision. */
  revisions: Map<string, string>;
  /** Which release production runs at the end: every pod and the branch agree, or 'mixed'. */
  endsOn: 'previous' | 'promoted' | 'mixed';
  lines: string[];
  sections: SummarySection[];
}

/** Reads production's outcome after the workflow; undefined when production was never synced. */
export async function productionOutcome(
  state: RehearsalState,
  job: JobRecord | undefined,
  branch: string,
): Promise<ProductionOutcome | undefined> {
  const syncs = state.productionSyncs ?? [];
  if (!state.neighbour || syncs.length === 0 || !state.productionImageBefore) return undefined;
  const neighbour = await state.neighbour;
  const previousImage = state.productionImageBefore;
  // After a canary, the first sync changed only the canary's image; a failed one never changed the stable's.
  const promotedImage =
    syncs.find((s) => s.image !== previousImage)?.image ??
    syncs.find((s) => s.canaryImage)?.canaryImage ??
    syncs[0]!.image;
  const { path } = findApplication(state.root, neighbour.application);
  const { commit, objects } = await readRenderedObjects(state.repos, branch, path);
  const deployBranchImage = deploymentImage(objects as unknown as K8sObject[]);
  const revisions = await podRevisions(neighbour.replicas);
  const revisionOf = (image: string) => revisionEnv(image).SWITCHBOARD_REVISION!.value;
  const on = (image: string) =>
    deployBranchImage === image && [...revisions.values()].every((r) => r === revisionOf(image));
  const endsOn = on(promotedImage) ? 'promoted' : on(previousImage) ? 'previous' : 'mixed';
  const gate = state.verification?.gate.report;
  const failed = gate ? gate.results.filter(unmet) : [];
  const rolledBack = job?.outputs['rolled-back'] === 'true';
  const lines = [
    gate
      ? `${neighbour.environment}'s verification after its sync: ${gate.verdict}${failed.length ? ` on ${failed.map((r) => `${r.name} (${r.value === undefined ? r.reason : formatValue(r.value, r.unit)})`).join(', ')}` : ''}`
      : `${neighbour.environment}'s verification did not run`,
    rolledBack
      ? `${neighbour.environment} rolled back: the previous render restored and synced (${syncs.length} syncs)`
      : `${neighbour.environment} not rolled back`,
    `${neighbour.environment} ends on the ${endsOn === 'mixed' ? 'MIXED' : endsOn} release: deploy branch ${commit.slice(0, 12)} renders ${deployBranchImage}; pods ${[...revisions].map(([pod, rev]) => `${pod} revision ${rev}`).join(', ')}`,
  ];
  return {
    environment: neighbour.environment,
    verified: gate !== undefined,
    ...(gate ? { verdict: gate.verdict } : {}),
    failedObjectives: failed.map((r) => r.name),
    rolledBack,
    previousImage,
    promotedImage,
    deployBranchImage,
    revisions,
    endsOn,
    lines,
    sections: [
      {
        heading: `${neighbour.environment} after the workflow: ${rolledBack ? 'rolled back' : gate?.verdict === 'pass' ? 'verified' : 'not verified'}`,
        level: 2,
        table: keyValueTable([
          ['Verification', gate ? gate.verdict : 'did not run'],
          ['Failed objectives', failed.map((r) => r.name).join(', ') || 'none'],
          ['Rolled back', rolledBack ? 'yes' : 'no'],
          ['Previous release', `${previousImage} (revision ${revisionOf(previousImage)})`],
          ['Promoted release', `${promotedImage} (revision ${revisionOf(promotedImage)})`],
          ['Deploy branch', `${commit.slice(0, 12)}: ${deployBranchImage}`],
          ['Pods', [...revisions].map(([pod, rev]) => `${pod}: ${rev}`).join('; ')],
          ['Ends on', endsOn],
        ]),
      },
    ],
  };
}
