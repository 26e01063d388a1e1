import { code, keyValueTable, table, type SummarySection } from '../../../pipeline/src/summary/index.js';
import type { SyncReport } from './sync-app.js';

/** The job summary for one run: result table, unhealthy resources, and what was still awaited. */
export function syncSummary(report: SyncReport): SummarySection[] {
  const f = report.final;
  const rollback = report.rollback;
  const sections: SummarySection[] = [
    {
      heading: `Argo CD sync: ${report.application}`,
      level: 2,
      table: keyValueTable([
        ['Application', code(report.application)],
        ['Requested revision', code(report.requestedRevision)],
        ['Result', report.succeeded ? 'Succeeded' : `Failed (${report.failure?.code ?? 'unknown'})`],
        ['Sync status', f.syncStatus],
        ['Health', f.healthMessage ? `${f.healthStatus}: ${f.healthMessage}` : f.healthStatus],
        ['Live revision', f.revision ? code(f.revision) : 'none'],
        [
          'Operation',
          f.operationPhase
            ? `${f.operationPhase}${f.operationMessage ? `: ${f.operationMessage}` : ''}`
            : 'none',
        ],
        ['Rolled back', rollback ? rollback.message : 'no'],
        ['Waited', `${Math.round(report.elapsedMs / 1000)}s, ${report.polls} poll(s)`],
        [
          'Retries while another operation ran',
          report.conflictRetries > 0 ? report.conflictRetries : undefined,
        ],
      ]),
    },
  ];
  if (report.unhealthy.length > 0) {
    sections.push({
      heading: 'Resources not healthy',
      table: table(
        ['Kind', 'Namespace', 'Name', 'Health', 'Message'],
        report.unhealthy.map((r) => [r.kind, r.namespace, r.name, r.health, r.message]),
      ),
    });
  }
  if (!report.succeeded && report.failure?.code === 'TIMEOUT' && f.waitingFor.length > 0) {
    sections.push({ heading: 'Still waiting for', list: f.waitingFor });
  }
  return sections;
}
