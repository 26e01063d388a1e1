import { Octokit } from '@octokit/rest';

/** Options for {@link createOctokit}. */
export interface OctokitOptions {
  /** `github.token` or a PAT / app token. */
  token: string;
  /** REST base URL: `https://api.github.com`, `https://ghes.example.com/api/v3`, or a fake's URL. */
  baseUrl?: string;
  userAgent?: string;
}

/** An `@octokit/rest` client; the base URL is validated so a typo fails with the input's name. */
export function createOctokit(options: OctokitOptions): Octokit {
  if (!options.token)
    throw new Error('github-token is empty: pass `${{ github.token }}` or a token with the needed scopes');
  const baseUrl = (options.baseUrl || 'https://api.github.com').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(baseUrl)) {
    throw new Error(
      `github-api-url "${options.baseUrl}" is not an http(s) URL (e.g. https://api.github.com)`,
    );
  }
  return new Octokit({
    auth: options.token,
    baseUrl,
    userAgent: options.userAgent ?? 'switchboard-actions',
    // Octokit logs 4xx as warnings on its own; callers report errors with context instead.
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
  });
}

export type { Octokit };
