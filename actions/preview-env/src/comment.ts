import { markdownCode, markdownTable } from '../../../pipeline/src/summary/index.js';
import type { PreviewNames } from './application.js';

/** Hidden marker that identifies the one comment this action keeps up to date. */
export const PREVIEW_COMMENT_MARKER = '<!-- switchboard-preview -->';

/** What the comment shows. */
export interface PreviewCommentState {
  status: 'deployed' | 'removed';
  number: number;
  headSha: string;
  names: PreviewNames;
  argoCdUrl?: string;
  runUrl?: string;
  /** Shown when teardown left something for a person to do. */
  note?: string;
}

/** The PR comment body (GitHub markdown), starting with {@link PREVIEW_COMMENT_MARKER}. */
export function renderPreviewComment(state: PreviewCommentState): string {
  const n = state.names;
  const deployed = state.status === 'deployed';
  const rows: (string | undefined)[][] = [
    [
      'Status',
      deployed
        ? state.note
          ? 'Deployed, not Healthy (see the note)'
          : 'Deployed: Synced and Healthy'
        : 'Removed (pull request closed)',
    ],
    ['URL', deployed ? n.url : `~~${n.url}~~`],
    [
      'Argo CD application',
      state.argoCdUrl ? `[${n.application}](${state.argoCdUrl})` : markdownCode(n.application),
    ],
    ['Namespace', markdownCode(n.namespace)],
    ['Image', markdownCode(n.image)],
    ['Commit', markdownCode(state.headSha.slice(0, 12))],
  ];
  if (state.runUrl) rows.push(['Workflow run', `[logs](${state.runUrl})`]);
  const footer = deployed
    ? 'This comment is written once Argo CD reports the preview Synced and Healthy (or gives up), updated on every push and when the pull request closes.'
    : 'The Argo CD application and everything it deployed were deleted; the GitHub deployments are marked inactive.';
  return [
    PREVIEW_COMMENT_MARKER,
    `### Preview environment for #${state.number}`,
    '',
    markdownTable(['', ''], rows),
    '',
    ...(state.note ? [`> **Note:** ${state.note}`, ''] : []),
    footer,
  ].join('\n');
}
