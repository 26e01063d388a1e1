import type { Octokit } from '@octokit/rest';

/** Where a comment lives. */
export interface IssueRef {
  owner: string;
  repo: string;
  /** Issue or pull request number. */
  issueNumber: number;
}

/** A comment found or written. */
export interface MarkedComment {
  id: number;
  url: string;
  body: string;
  /** True when this call created it (no marked comment existed). */
  created: boolean;
}

/**
 * Finds the first comment on the issue/PR whose body contains `marker` (a hidden HTML comment such as
 * `<!-- switchboard-preview -->`), reading every page of comments.
 */
export async function findMarkedComment(octokit: Octokit, ref: IssueRef, marker: string) {
  const pages = octokit.paginate.iterator(octokit.rest.issues.listComments, {
    owner: ref.owner,
    repo: ref.repo,
    issue_number: ref.issueNumber,
    per_page: 100,
  });
  for await (const page of pages) {
    const found = page.data.find((comment) => comment.body?.includes(marker));
    if (found) return { id: found.id, url: found.html_url, body: found.body ?? '' };
  }
  return undefined;
}

/**
 * Keeps exactly one marked comment up to date: edits the existing one, or creates it when there is none.
 * The marker is prepended to `body` when missing so the next run finds the comment again.
 */
export async function upsertMarkedComment(
  octokit: Octokit,
  ref: IssueRef,
  marker: string,
  body: string,
): Promise<MarkedComment> {
  if (!marker.trim()) throw new Error('comment marker is empty');
  const text = body.includes(marker) ? body : `${marker}\n${body}`;
  const existing = await findMarkedComment(octokit, ref, marker);
  if (existing) {
    const { data } = await octokit.rest.issues.updateComment({
      owner: ref.owner,
      repo: ref.repo,
      comment_id: existing.id,
      body: text,
    });
    return { id: data.id, url: data.html_url, body: data.body ?? text, created: false };
  }
  const { data } = await octokit.rest.issues.createComment({
    owner: ref.owner,
    repo: ref.repo,
    issue_number: ref.issueNumber,
    body: text,
  });
  return { id: data.id, url: data.html_url, body: data.body ?? text, created: true };
}
