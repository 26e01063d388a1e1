import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Git, type GitIdentity } from '../../../pipeline/src/git/index.js';
import { parseObjects, type RenderedObject } from '../../../pipeline/src/kustomize/index.js';

/**
 * What to put at `path` on the deploy branch: freshly rendered files, files made from what is there
 * (a canary beside the running release; called again on each attempt), or an earlier commit's directory.
 */
export type DeployContent =
  | { files: Map<string, string> }
  | { fromPrevious: (previous: RenderedObject[]) => Promise<Map<string, string>> }
  | { restoreFrom: string };

/** How to publish. */
export interface PublishOptions {
  /** The workflow's checkout (its remote is used). */
  repoDir: string;
  /** Added to git's environment for fetch and push: tokenAuthEnv() from shared/git, or none to use the checkout's own credentials. */
  gitEnv?: Record<string, string>;
  remote: string;
  branch: string;
  /** Directory on the branch, e.g. rendered/staging. */
  path: string;
  content: DeployContent;
  /** Commit message (subject, blank line, body). */
  message: (previous: RenderedObject[]) => string;
  identity: GitIdentity;
  /** false: compute the diff only (pull requests, dry runs). */
  push: boolean;
  /** Attempts when another job pushed the branch meanwhile. */
  maxAttempts?: number;
  log?: (line: string) => void;
}

/** What publishing did. */
export interface PublishResult {
  /** Branch tip before this run; undefined when the branch did not exist. */
  previousCommit?: string;
  /** Branch commit that holds this content (the new commit, or the old tip when nothing changed); undefined in a dry run with changes. */
  commit?: string;
  changed: boolean;
  pushed: boolean;
  /** Objects at `path` before. */
  previous: RenderedObject[];
  /** Objects at `path` after. */
  next: RenderedObject[];
  /** `git diff` of `path`, unified, and its --stat. */
  diff: string;
  stat: string;
  attempts: number;
}

function readObjects(dir: string): RenderedObject[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .flatMap((f) => parseObjects(readFileSync(join(dir, f), 'utf8'), f));
}

/**
 * Replaces `path` on the deploy branch with `content` in a temporary worktree of the checkout, commits as
 * `identity` when something changed, and pushes (never forced). When the push is rejected because the
 * branch moved, it starts over from the new tip, up to `maxAttempts` times. The worktree is always removed.
 */
export async function publishToDeployBranch(options: PublishOptions): Promise<PublishResult> {
  const repo = new Git(options.repoDir, options.gitEnv);
  const maxAttempts = options.maxAttempts ?? 3;
  const log = options.log ?? (() => undefined);
  for (let attempt = 1; ; attempt++) {
    const previousCommit = await repo.fetchBranch(options.remote, options.branch);
    const worktree = mkdtempSync(join(tmpdir(), 'deploy-branch-'));
    const orphan = previousCommit ? undefined : `render-manifests-${Date.now().toString(36)}`;
    await repo.run(['worktree', 'add', '--detach', worktree, previousCommit ?? 'HEAD']);
    const wt = new Git(worktree, options.gitEnv);
    try {
      if (orphan) {
        log(`${options.remote}/${options.branch} does not exist yet: starting it with this render`);
        await wt.run(['switch', '--quiet', '--orphan', orphan]);
      }
      const target = join(worktree, options.path);
      const previous = readObjects(target);
      if (!('restoreFrom' in options.content)) {
        const files =
          'files' in options.content ? options.content.files : await options.content.fromPrevious(previous);
        rmSync(target, { recursive: true, force: true });
        mkdirSync(target, { recursive: true });
        for (const [name, text] of files) writeFileSync(join(target, name), text);
      } else {
        const sha = options.content.restoreFrom;
        await repo.fetchCommit(options.remote, sha);
        const listed = await wt.run(['ls-tree', '--name-only', sha, '--', `${options.path}/`], {
          allowFailure: true,
        });
        if (listed.exitCode !== 0 || !listed.stdout.trim()) {
          throw new Error(`restore-revision ${sha} has nothing at ${options.path}/ to restore`);
        }
        await wt.run(['rm', '-r', '-q', '--ignore-unmatch', '--', options.path]);
        await wt.run(['checkout', sha, '--', options.path]);
      }
      await wt.run(['add', '--all', '--', options.path]);
      const next = readObjects(target);
      const staged = await wt.run(['diff', '--cached', '--quiet', '--', options.path], {
        allowFailure: true,
      });
      const changed = staged.exitCode !== 0;
      const diff = changed
        ? (await wt.run(['diff', '--cached', '--no-color', '--no-ext-diff', '--', options.path])).stdout
        : '';
      const stat = changed
        ? (await wt.run(['diff', '--cached', '--no-color', '--stat', '--', options.path])).stdout
        : '';
      const base = { previousCommit, previous, next, diff, stat, attempts: attempt, changed };
      if (!changed) return { ...base, commit: previousCommit, pushed: false };
      if (!options.push) return { ...base, commit: undefined, pushed: false };
      await wt.run([
        '-c',
        `user.name=${options.identity.name}`,
        '-c',
        `user.email=${options.identity.email}`,
        'commit',
        '--quiet',
        '--no-verify',
        '--no-gpg-sign',
        '-m',
        options.message(previous),
      ]);
      const commit = (await wt.run(['rev-parse', 'HEAD'])).stdout.trim();
      const pushed = await wt.run(
        ['push', '--porcelain', options.remote, `HEAD:refs/heads/${options.branch}`],
        {
          allowFailure: true,
        },
      );
      if (pushed.exitCode === 0) {
        log(`pushed ${commit} to ${options.remote}/${options.branch}`);
        return { ...base, commit, pushed: true };
      }
      const raced = /\[rejected\]|non-fast-forward|fetch first|stale info|already exists/i.test(
        `${pushed.stdout}\n${pushed.stderr}`,
      );
      if (!raced || attempt >= maxAttempts) {
        throw new Error(
          `git push to ${options.remote}/${options.branch} failed${raced ? ` after ${attempt} attempts (the branch keeps moving)` : ''}: ${(pushed.stderr || pushed.stdout).trim()}` +
            (/403|denied|permission/i.test(pushed.stderr)
              ? '\nThe job needs `permissions: contents: write` and the step `token: ${{ github.token }}`.'
              : ''),
        );
      }
      log(
        `${options.remote}/${options.branch} moved while rendering (attempt ${attempt}); starting over from the new tip`,
      );
    } finally {
      await repo.run(['worktree', 'remove', '--force', worktree], { allowFailure: true });
      rmSync(worktree, { recursive: true, force: true });
      if (orphan) await repo.run(['branch', '-D', orphan], { allowFailure: true });
    }
  }
}
