import { code, keyValueTable, link, type SummarySection } from '../../../pipeline/src/summary/index.js';
import type { PreviewResult } from './preview.js';

const OUTCOME_TEXT: Record<PreviewResult['outcome'], string> = {
  deployed: 'Application created or updated; deployment recorded',
  removed: 'Application deleted (cascade); deployments marked inactive',
  skipped: 'Nothing to do for this pull request event',
};

/** The job summary for one run. */
export function previewSummary(result: PreviewResult, eventAction: string): SummarySection[] {
  const n = result.names;
  return [
    {
      heading: `Preview environment: ${n.namespace}`,
      level: 2,
      text: result.problem ? [result.problem] : result.note ? [result.note] : undefined,
      table: keyValueTable([
        ['Event', eventAction],
        ['Result', OUTCOME_TEXT[result.outcome]],
        ['URL', result.outcome === 'deployed' ? link(n.url, n.url) : n.url],
        ['Argo CD application', code(n.application)],
        ['Namespace', code(n.namespace)],
        ['Image', code(n.image)],
        ['Revision', code(n.targetRevision)],
        ['Health', result.health],
        ['Deployment', result.deploymentId],
        ['Deployments marked inactive', result.outcome === 'removed' ? result.deactivated.length : undefined],
        [
          'PR comment',
          result.commentUrl
            ? link(result.commentCreated ? 'created' : 'updated', result.commentUrl)
            : undefined,
        ],
      ]),
    },
  ];
}
