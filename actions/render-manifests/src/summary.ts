import type { ObjectDiff } from '../../../pipeline/src/kustomize/index.js';
import {
  code,
  keyValueTable,
  link,
  table,
  type CellValue,
  type SummarySection,
} from '../../../pipeline/src/summary/index.js';
import type { RenderConfig } from './config.js';
import type { PublishResult } from './deploy-branch.js';
import type { ValidationProblem } from './validate.js';

/** Counts as "1 changed, 2 added, 0 removed (30 unchanged)". */
export function describeDiff(diff: ObjectDiff): string {
  const n = (c: string) => diff.changes.filter((x) => x.change === c).length;
  return `${n('changed')} changed, ${n('added')} added, ${n('removed')} removed (${diff.unchanged} unchanged)`;
}

function commitCell(sha: string | undefined, env: Record<string, string | undefined>): CellValue {
  if (!sha) return 'none';
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo } = env;
  return server && repo ? link(sha.slice(0, 12), `${server}/${repo}/commit/${sha}`) : code(sha.slice(0, 12));
}

/** Sections for the job summary: the render, the per-object changes, validation problems. */
export function renderSummary(
  config: RenderConfig,
  outcome: {
    publish?: PublishResult;
    diff?: ObjectDiff;
    validation?: { objects: number; problems: ValidationProblem[] };
    objects?: number;
  },
  env: Record<string, string | undefined>,
): SummarySection[] {
  const { publish, diff, validation } = outcome;
  const action = config.restoreRevision ? 'Restored' : 'Rendered';
  const dryRun = !config.push ? ' (dry run)' : '';
  const sections: SummarySection[] = [
    {
      heading: `${action} ${config.environment}${dryRun}`,
      level: 2,
      table: keyValueTable([
        ['Overlay', config.restoreRevision ? undefined : code(config.overlay)],
        [
          'Image',
          config.pin ? code(`${config.pin.newName ?? config.pin.name}@${config.pin.digest}`) : undefined,
        ],
        ['Restored from', config.restoreRevision ? commitCell(config.restoreRevision, env) : undefined],
        ['Source commit', config.sourceRevision ? commitCell(config.sourceRevision, env) : undefined],
        ['Deploy branch', code(`${config.deployBranch}:${config.outputPath}/`)],
        ['Previous commit', publish ? commitCell(publish.previousCommit, env) : undefined],
        [
          'Commit',
          publish
            ? publish.pushed
              ? commitCell(publish.commit, env)
              : publish.changed
                ? 'not pushed (push: false)'
                : 'unchanged: nothing to commit'
            : undefined,
        ],
        ['Objects', outcome.objects],
        ['Changes', diff ? describeDiff(diff) : undefined],
        [
          'Validation',
          validation
            ? validation.problems.length === 0
              ? `${validation.objects} objects, no problems`
              : `${validation.problems.length} problem(s) in ${validation.objects} objects: nothing was published`
            : config.restoreRevision
              ? undefined
              : 'skipped (validate: false)',
        ],
      ]),
    },
  ];
  if (validation && validation.problems.length > 0) {
    sections.push({
      heading: 'Validation problems',
      table: table(
        ['Object', 'Field', 'Problem', 'Check'],
        validation.problems.map((p) => [p.object, code(p.field), p.message, p.check]),
      ),
    });
  }
  if (diff && diff.changes.length > 0) {
    sections.push({
      heading: 'Changes by object',
      table: table(
        ['Change', 'Object', 'Fields'],
        diff.changes.map((c) => [c.change, code(c.label), c.fields.join(', ')]),
      ),
    });
  }
  return sections;
}

/** The most of a unified diff the summary shows (the job summary limit is 1 MiB). */
export const MAX_SUMMARY_DIFF = 120_000;
