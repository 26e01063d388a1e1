/**
 * git through @actions/exec (argument arrays, captured output). Used to publish rendered manifests to a
 * deploy branch from inside the workflow's checkout: a worktree shares the checkout's remote. The token
 * that fetches and pushes is handed to git through its environment for this process only
 * ({@link tokenAuthEnv}), so the checkout can use `persist-credentials: false` and no earlier step (an
 * `npm ci` install script, say) finds a write token in .git/config.
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

/**
 * Environment that makes git send `token` to `serverUrl` the way actions/checkout's persisted credentials
 * do (`http.<origin>/.extraheader: AUTHORIZATION: basic base64(x-access-token:<token>)`, as in
 * actions/checkout src/git-auth-helper.ts), but through GIT_CONFIG_COUNT/KEY/VALUE (git >= 2.31): nothing
 * is written to disk and the value never appears on a command line.
 */
export function tokenAuthEnv(token: string, serverUrl = 'https://github.com'): Record<string, string> {
  const origin = new URL(serverUrl).origin;
  const basic = Buffer.from(`x-access-token:${token}`, 'utf8').toString('base64');
  return {
    GIT_CONFIG_COUNT: '2',
    GIT_CONFIG_KEY_0: `http.${origin}/.extraheader`,
    GIT_CONFIG_VALUE_0: `AUTHORIZATION: basic ${basic}`,
    // No repository hook (post-checkout, pre-push) runs while git holds the token.
    GIT_CONFIG_KEY_1: 'core.hooksPath',
    GIT_CONFIG_VALUE_1: '/dev/null',
  };
}

/** A repository (or worktree) directory; `env` is added to every git command's environment (credentials). */
export class Git {
  constructor(
    readonly dir: string,
    private readonly env: Record<string, string> = {},
  ) {}

  /** Runs `git -C dir args...`; resolves with trimmed stdout, throws {@link GitError}. */
  async run(args: string[], options: { allowFailure?: boolean; env?: Record<string, string> } = {}) {
    let result;
    try {
      result = await getExecOutput('git', ['-C', this.dir, ...args], {
        silent: true,
        ignoreReturnCode: true,
        env:
          options.env || Object.keys(this.env).length > 0
            ? { ...(process.env as Record<string, string>), ...this.env, ...options.env }
            : undefined,
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
