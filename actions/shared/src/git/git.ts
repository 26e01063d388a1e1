/**
 * git through @actions/exec (argument arrays, captured output). Used to publish rendered manifests to a
 * deploy branch from inside the workflow's checkout: a worktree shares the checkout's remote and the
 * credentials actions/checkout configured, so pushing needs no token handling here.
 */
import { getExecOutput } from '@actions/exec';

/** git exited non-zero. `stderr` is git's own explanation. */
export class GitError extends Error {
  override readonly name = 'GitError';
  readonly code = 'GIT_FAILED';
  constructor(
    readonly args: string[],
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(
      `git ${args.join(' ')} failed (exit ${exitCode}): ${stderr.trim().split('\n').slice(-6).join('\n')}`,
    );
  }
}

/** Committer identity for commits the pipeline makes. */
export interface GitIdentity {
  name: string;
  email: string;
}

/** The identity GitHub shows as github-actions[bot]. */
export const GITHUB_ACTIONS_BOT: GitIdentity = {
  name: 'github-actions[bot]',
  email: '41898282+github-actions[bot]@users.noreply.github.com',
};

/** A repository (or worktree) directory. */
export class Git {
  constructor(readonly dir: string) {}

  /** Runs `git -C dir args...`; resolves with trimmed stdout, throws {@link GitError}. */
  async run(args: string[], options: { allowFailure?: boolean; env?: Record<string, string> } = {}) {
    let result;
    try {
      result = await getExecOutput('git', ['-C', this.dir, ...args], {
        silent: true,
        ignoreReturnCode: true,
        env: options.env ? { ...(process.env as Record<string, string>), ...options.env } : undefined,
      });
    } catch (error) {
      throw new Error(`cannot run git: ${(error as Error).message}`, { cause: error });
    }
    if (result.exitCode !== 0 && !options.allowFailure)
      throw new GitError(args, result.exitCode, result.stderr);
    return { stdout: result.stdout.replace(/\n$/, ''), stderr: result.stderr, exitCode: result.exitCode };
  }

  /** `git rev-parse --verify <rev>^{commit}`, or undefined when it does not exist. */
  async resolve(rev: string): Promise<string | undefined> {
    const r = await this.run(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { allowFailure: true });
    return r.exitCode === 0 ? r.stdout.trim() : undefined;
  }

  /**
   * Fetches `branch` from `remote` into `refs/remotes/<remote>/<branch>` (shallow is fine) and returns its
   * commit, or undefined when the remote has no such branch.
   */
  async fetchBranch(remote: string, branch: string, depth = 1): Promise<string | undefined> {
    const ref = `refs/remotes/${remote}/${branch}`;
    const r = await this.run(
      ['fetch', '--no-tags', `--depth=${depth}`, remote, `+refs/heads/${branch}:${ref}`],
      { allowFailure: true },
    );
    if (r.exitCode !== 0) {
      if (/couldn't find remote ref|not our ref|no such ref/i.test(r.stderr)) return undefined;
      throw new GitError(['fetch', remote, branch], r.exitCode, r.stderr);
    }
    return this.resolve(ref);
  }

  /** Fetches one commit by SHA (GitHub serves reachable commits) so it can be read locally. */
  async fetchCommit(remote: string, sha: string): Promise<void> {
    if (await this.resolve(sha)) return;
    await this.run(['fetch', '--no-tags', '--depth=1', remote, sha]);
  }
}
