import { readFileSync } from 'node:fs';

/** The parts of a `pull_request` / `pull_request_target` event payload the actions use. */
export interface PullRequestEvent {
  /** `opened`, `synchronize`, `reopened`, `closed`, ... */
  action: string;
  number: number;
  headSha: string;
  headRef: string;
  owner: string;
  repo: string;
  merged: boolean;
  htmlUrl?: string;
}

/**
 * Reads the pull request event from `eventPath` (GITHUB_EVENT_PATH). `repository` (GITHUB_REPOSITORY,
 * `owner/name`) is the fallback for the repository when the payload lacks it. Throws naming what is
 * missing, e.g. when the workflow runs on `push` instead of `pull_request`.
 */
export function readPullRequestEvent(eventPath: string | undefined, repository?: string): PullRequestEvent {
  if (!eventPath)
    throw new Error('GITHUB_EVENT_PATH is not set: run this action from a pull_request workflow');
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(readFileSync(eventPath, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`cannot read the event payload at ${eventPath}: ${String(error)}`, { cause: error });
  }
  const pr = payload.pull_request as Record<string, unknown> | undefined;
  if (!pr) {
    throw new Error(
      'the event is not a pull request event: trigger the workflow with `on: pull_request` (types: opened, synchronize, reopened, closed)',
    );
  }
  const head = (pr.head ?? {}) as Record<string, unknown>;
  const repoPayload = (payload.repository ?? {}) as { name?: string; owner?: { login?: string } };
  const [fallbackOwner, fallbackRepo] = (repository ?? '').split('/');
  const owner = repoPayload.owner?.login ?? fallbackOwner;
  const repo = repoPayload.name ?? fallbackRepo;
  const number = Number(payload.number ?? pr.number);
  const headSha = String(head.sha ?? '');
  if (!owner || !repo)
    throw new Error('cannot tell the repository: the event has no repository and GITHUB_REPOSITORY is unset');
  if (!Number.isInteger(number) || number <= 0) throw new Error('the pull request event has no number');
  if (!/^[0-9a-f]{40}$/i.test(headSha))
    throw new Error('the pull request event has no head commit SHA (pull_request.head.sha)');
  return {
    action: String(payload.action ?? ''),
    number,
    headSha,
    headRef: String(head.ref ?? ''),
    owner,
    repo,
    merged: pr.merged === true,
    htmlUrl: typeof pr.html_url === 'string' ? pr.html_url : undefined,
  };
}

/** The URL of the running workflow run, from the runner's environment variables; undefined outside Actions. */
export function workflowRunUrl(env: Record<string, string | undefined>): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repository, GITHUB_RUN_ID: runId } = env;
  return server && repository && runId ? `${server}/${repository}/actions/runs/${runId}` : undefined;
}
