// The rehearsals of preview.yml and loadtest.yml, for rehearse.ts (deploy.yml's is rehearse.ts itself).
import { rehearseLoadtest } from './loadtest-rehearsal.js';
import { rehearsePreview } from './preview-rehearsal.js';
import type { WorkflowKind, WorkflowRehearsal } from './workflow-kind.js';

/** Plays the preview or load-test workflow; resolves with the exit status. */
export async function rehearseOtherWorkflow(
  kind: Exclude<WorkflowKind, 'deploy'>,
  rehearsal: WorkflowRehearsal,
): Promise<number> {
  if (kind === 'preview') return rehearsePreview(rehearsal);
  return rehearseLoadtest(rehearsal);
}
