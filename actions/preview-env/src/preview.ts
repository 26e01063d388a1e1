import { isArgoCdError, normalizeServerUrl, type ArgoCdClient } from '../../../pipeline/src/argocd/index.js';
import {
  deactivateEnvironment,
  recordDeployment,
  upsertMarkedComment,
  type Octokit,
  type PullRequestEvent,
} from '../../../pipeline/src/github/index.js';
import { buildPreviewApplication, previewNames, type PreviewNames } from './application.js';
import { PREVIEW_COMMENT_MARKER, renderPreviewComment } from './comment.js';
import type { PreviewConfig } from './config.js';
import { waitForPreview, type WaitRuntime } from './wait.js';

/** Pull request event actions this action handles. */
export const OPEN_ACTIONS = ['opened', 'synchronize', 'reopened'] as const;

/** What one run did. */
export interface PreviewResult {
  /** `deployed` (created or updated), `removed`, or `skipped` for other event actions. */
  outcome: 'deployed' | 'removed' | 'skipped';
  names: PreviewNames;
  /** The deployment created (deployed) or the newest one marked inactive (removed). */
  deploymentId?: number;
  /** Every deployment marked inactive on close, newest first. */
  deactivated: number[];
  commentId?: number;
  commentUrl?: string;
  commentCreated?: boolean;
  /** How the Application delete went on close. */
  deletion?: 'deleted' | 'already-gone';
  /** Set when the run must fail after doing what it could (e.g. delete refused, preview not Healthy). */
  problem?: string;
  /** Why an opened/synchronize/reopened event changed nothing (the pull request closed meanwhile). */
  note?: string;
  /** What Argo CD said when the wait for the preview ended. */
  health?: string;
}

/** The clients the preview needs. */
export interface PreviewClients {
  argocd: ArgoCdClient;
  octokit: Octokit;
  /** Clock and sleep for the health wait; default the real ones. */
  runtime?: WaitRuntime;
}

const realRuntime: WaitRuntime = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Runs the preview lifecycle for one pull request event: opened/synchronize/reopened upsert the Argo CD
 * Application, record a GitHub deployment with the preview URL and update the one marked PR comment;
 * closed deletes the Application with cascade, marks the environment's deployments inactive and updates
 * the comment. Other event actions change nothing.
 */
export async function runPreview(
  clients: PreviewClients,
  config: PreviewConfig,
  pr: PullRequestEvent,
  runUrl?: string,
): Promise<PreviewResult> {
  const names = previewNames(config, pr);
  if ((OPEN_ACTIONS as readonly string[]).includes(pr.action))
    return openPreview(clients, config, pr, names, runUrl);
  if (pr.action === 'closed') return closePreview(clients, config, pr, names, runUrl);
  return { outcome: 'skipped', names, deactivated: [] };
}

async function openPreview(
  { argocd, octokit, runtime = realRuntime }: PreviewClients,
  config: PreviewConfig,
  pr: PullRequestEvent,
  names: PreviewNames,
  runUrl?: string,
): Promise<PreviewResult> {
  // The image build runs before this job; a close in between already ran its (empty) clean-up and
  // would not run again: never re-create the preview of a pull request that is no longer open.
  const { data: current } = await octokit.rest.pulls.get({
    owner: pr.owner,
    repo: pr.repo,
    pull_number: pr.number,
  });
  if (current.state !== 'open') {
    return {
      outcome: 'skipped',
      names,
      deactivated: [],
      note: `pull request #${pr.number} is ${current.state} now: no preview created`,
    };
  }
  await argocd.createApplication(buildPreviewApplication(config, pr, names), { upsert: true });
  const health = await waitForPreview(
    argocd,
    names.application,
    names.targetRevision,
    {
      timeoutMs: config.waitTimeoutMs,
      pollIntervalMs: config.pollIntervalMs,
      appNamespace: config.appNamespace,
    },
    runtime,
  );
  const problem = health.healthy
    ? undefined
    : `preview ${names.application} is not Healthy: ${health.detail}`;
  const deployment = await recordDeployment(octokit, {
    owner: pr.owner,
    repo: pr.repo,
    ref: pr.headSha,
    environment: names.environment,
    environmentUrl: names.url,
    logUrl: runUrl,
    description: `Argo CD application ${names.application} at ${pr.headSha.slice(0, 7)}`,
    transient: true,
    state: health.healthy ? 'success' : 'failure',
  });
  const comment = await upsertMarkedComment(
    octokit,
    { owner: pr.owner, repo: pr.repo, issueNumber: pr.number },
    PREVIEW_COMMENT_MARKER,
    renderPreviewComment({
      status: 'deployed',
      number: pr.number,
      headSha: pr.headSha,
      names,
      argoCdUrl: argoCdAppUrl(config, names),
      runUrl,
      note: problem,
    }),
  );
  return {
    outcome: 'deployed',
    names,
    deploymentId: deployment.deploymentId,
    deactivated: [],
    commentId: comment.id,
    commentUrl: comment.url,
    commentCreated: comment.created,
    problem,
    health: health.detail,
  };
}

async function closePreview(
  { argocd, octokit }: PreviewClients,
  config: PreviewConfig,
  pr: PullRequestEvent,
  names: PreviewNames,
  runUrl?: string,
): Promise<PreviewResult> {
  let deletion: PreviewResult['deletion'];
  let problem: string | undefined;
  try {
    await argocd.deleteApplication(names.application, { cascade: true, appNamespace: config.appNamespace });
    deletion = 'deleted';
  } catch (error) {
    if (isArgoCdError(error, 'ARGOCD_NOT_FOUND')) deletion = 'already-gone';
    else if (isArgoCdError(error, 'ARGOCD_PERMISSION_DENIED')) {
      // Argo CD answers the same for "no such app" and "not allowed": clean up GitHub, then fail loudly.
      problem =
        `Argo CD refused to delete ${names.application} ("permission denied"): either it no longer exists, or the ` +
        `token may not delete applications in project ${config.project}. If it still exists, delete it with ` +
        `\`argocd app delete ${names.application} --cascade\`.`;
    } else throw error;
  }
  const deactivated = await deactivateEnvironment(octokit, {
    owner: pr.owner,
    repo: pr.repo,
    environment: names.environment,
    description: `Preview removed: pull request #${pr.number} closed`,
    logUrl: runUrl,
  });
  const comment = await upsertMarkedComment(
    octokit,
    { owner: pr.owner, repo: pr.repo, issueNumber: pr.number },
    PREVIEW_COMMENT_MARKER,
    renderPreviewComment({
      status: 'removed',
      number: pr.number,
      headSha: pr.headSha,
      names,
      runUrl,
      note: problem,
    }),
  );
  return {
    outcome: 'removed',
    names,
    deploymentId: deactivated[0],
    deactivated,
    commentId: comment.id,
    commentUrl: comment.url,
    commentCreated: comment.created,
    deletion,
    problem,
  };
}

/** Link to the Application in the Argo CD UI. */
export function argoCdAppUrl(config: PreviewConfig, names: PreviewNames): string {
  const base = normalizeServerUrl(config.server);
  return config.appNamespace
    ? `${base}/applications/${config.appNamespace}/${names.application}`
    : `${base}/applications/${names.application}`;
}
