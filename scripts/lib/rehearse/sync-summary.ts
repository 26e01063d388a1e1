// The job-summary table of one Argo CD sync as the stand-in played it: every task of every step it
// reached with its result, then one row per step it never reached.
import { table, type SummarySection } from '../../../pipeline/src/summary/index.js';
import { formatDuration } from './progress.js';
import type { SyncResult } from './sync-run.js';

/** One row per step the sync never reached. */
function notRunRows(notRun: SyncResult['notRun']): string[][] {
  const byStep = new Map<string, string[]>();
  for (const n of notRun) {
    const key = `${n.phase}\t${n.wave}`;
    byStep.set(key, [...(byStep.get(key) ?? []), n.task]);
  }
  return [...byStep].map(([key, tasks]) => {
    const [phase = '', wave = ''] = key.split('\t');
    const list =
      tasks.length > 4 ? `${tasks.slice(0, 4).join(', ')} and ${tasks.length - 4} more` : tasks.join(', ');
    return [phase, wave, list, 'never run', 'an earlier step did not complete', ''];
  });
}

/** The "Argo CD sync of <application>" section. */
export function syncSummarySection(application: string, sync: SyncResult): SummarySection {
  return {
    heading: `Argo CD sync of ${application}: ${sync.phase}`,
    level: 2,
    table: table(
      ['Phase', 'Wave', 'Object', 'Result', 'Message', 'Took'],
      [
        ...sync.steps.flatMap((st) =>
          st.tasks.map((t) => [
            st.phase,
            String(st.wave),
            `${t.task}${t.hook ? ' (hook)' : ''}`,
            t.result,
            t.message,
            formatDuration(st.ms),
          ]),
        ),
        ...notRunRows(sync.notRun),
      ],
    ),
  };
}
