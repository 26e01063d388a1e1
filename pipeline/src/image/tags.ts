/**
 * Image names, tags and OCI labels for a build, from the workflow's context: the commit SHA, the branch
 * (push) or `pr-<number>` (pull_request), and org.opencontainers.image.* labels that link the image back
 * to its source.
 */

/** What the workflow run says about the build. */
export interface BuildContext {
  /** Commit the image is built from (for pull requests: the head commit, not the merge commit). */
  sha: string;
  /** refs/heads/<branch> or refs/tags/<tag> (push), refs/pull/<n>/merge (pull_request). */
  ref?: string;
  /** Set for pull_request events. */
  pullRequest?: number;
  /** https://github.com/owner/repo */
  sourceUrl?: string;
  /** ISO 8601 creation time (SOURCE_DATE_EPOCH or now). */
  created: string;
}

/** A registry repository name without tag or digest: `registry/path/name`, lower-case. */
export const IMAGE_NAME =
  /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+$/;

/** Checks an image name and says what is wrong with it. */
export function checkImageName(name: string, inputName = 'image'): string {
  if (/@|:[^/]*$/.test(name.split('/').at(-1) ?? '') && !/^[^/]+:\d+$/.test(name)) {
    throw new Error(
      `${inputName}: "${name}" must be a name without tag or digest; tags come from the tags input and the workflow context`,
    );
  }
  if (!IMAGE_NAME.test(name)) {
    throw new Error(
      `${inputName}: "${name}" is not a lower-case registry/repository name, e.g. ghcr.io/acme/switchboard`,
    );
  }
  return name;
}

/** Turns any ref name into a valid tag: [A-Za-z0-9_.-], not starting with . or -, at most 128 characters. */
export function sanitizeTag(text: string): string {
  const tag = text
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 128)
    .replace(/[.-]+$/, '');
  if (!tag) throw new Error(`"${text}" does not make a valid image tag`);
  return tag;
}

/**
 * The tags for a build: the full commit SHA always; `pr-<n>` for pull requests, otherwise the branch or
 * tag name; then `extra` (each checked). Duplicates are dropped, order kept.
 */
export function imageTags(context: BuildContext, extra: string[] = []): string[] {
  if (!/^[0-9a-f]{40}$/.test(context.sha))
    throw new Error(`sha: "${context.sha}" is not a full 40-character commit SHA`);
  const tags = [context.sha];
  if (context.pullRequest !== undefined) tags.push(`pr-${context.pullRequest}`);
  else if (context.ref?.startsWith('refs/heads/'))
    tags.push(sanitizeTag(context.ref.slice('refs/heads/'.length)));
  else if (context.ref?.startsWith('refs/tags/'))
    tags.push(sanitizeTag(context.ref.slice('refs/tags/'.length)));
  for (const t of extra) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(t)) {
      throw new Error(
        `tags: "${t}" is not a valid tag (letters, digits, _ . -, at most 128, not starting with . or -)`,
      );
    }
    tags.push(t);
  }
  return [...new Set(tags)];
}

/** The OCI annotations-as-labels that tie an image to its source; `extra` wins on conflicts. */
export function ociLabels(
  context: BuildContext,
  title: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...(context.sourceUrl ? { 'org.opencontainers.image.source': context.sourceUrl } : {}),
    'org.opencontainers.image.revision': context.sha,
    'org.opencontainers.image.created': context.created,
    'org.opencontainers.image.title': title,
    ...extra,
  };
}

/** The creation time: SOURCE_DATE_EPOCH (seconds) when set, for reproducible builds, else `now`. */
export function creationTime(sourceDateEpoch: string | undefined, now = new Date()): string {
  if (sourceDateEpoch) {
    const seconds = Number(sourceDateEpoch);
    if (!Number.isSafeInteger(seconds) || seconds < 0)
      throw new Error(`SOURCE_DATE_EPOCH "${sourceDateEpoch}" is not a number of seconds`);
    return new Date(seconds * 1000).toISOString();
  }
  return now.toISOString();
}
