import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import {
  ValidatingHttpFake,
  type FakeRequest,
  type FakeResponse,
  type RecordedExchange,
} from './http-fake.js';
import { OpenApi3Validator } from './openapi3.js';

let examples: Record<string, { value: unknown }> | undefined;

/** An example response from GitHub's OpenAPI description (`components.examples`), deep-copied. */
function githubExample(name: string): Record<string, unknown> {
  examples ??= (
    JSON.parse(
      readFileSync(
        join(
          createRequire(import.meta.url).resolve('@octokit/openapi/package.json'),
          '../generated/api.github.com.json',
        ),
        'utf8',
      ),
    ) as { components: { examples: Record<string, { value: unknown }> } }
  ).components.examples;
  return structuredClone(examples[name]!.value) as Record<string, unknown>;
}

/** Options for {@link startFakeGitHub}. */
export interface FakeGitHubOptions {
  /** Tokens accepted (`Authorization: token X` or `Bearer X`). Default `['gh-test-token']`. */
  tokens?: string[];
  /** Login the accepted token belongs to. Default `github-actions[bot]`. */
  login?: string;
}

/** Issue comment as stored by the fake (the API shape, `issue-comment`). */
export interface FakeComment {
  id: number;
  body: string;
  login: string;
  issueNumber: number;
  created_at: string;
  updated_at: string;
}

/** A deployment and its statuses (newest last). */
export interface FakeDeployment {
  id: number;
  ref: string;
  sha: string;
  environment: string;
  task: string;
  description: string | null;
  payload: unknown;
  transient_environment: boolean;
  production_environment: boolean;
  created_at: string;
  statuses: {
    id: number;
    state: string;
    environment_url?: string;
    log_url?: string;
    description: string;
    created_at: string;
  }[];
}

/**
 * An in-process fake of the GitHub REST endpoints the actions use -- issue comments (list with
 * pagination, create, update), deployments (create, list) and deployment statuses (create, list) --
 * every request and response validated against GitHub's OpenAPI description from `@octokit/openapi`.
 * State lives per repository in `comments` and `deployments` for assertions.
 */
export class FakeGitHub {
  readonly http: ValidatingHttpFake;
  /** Pull requests that are closed; every other number is open. */
  readonly closedPullRequests = new Set<number>();
  readonly comments: FakeComment[] = [];
  readonly deployments: FakeDeployment[] = [];
  readonly #tokens: Set<string>;
  #nextId = 1000;
  #clock = Date.parse('2025-01-01T00:00:00Z');

  constructor(readonly options: FakeGitHubOptions = {}) {
    this.#tokens = new Set(options.tokens ?? ['gh-test-token']);
    this.http = new ValidatingHttpFake({
      name: 'fake GitHub',
      validator: OpenApi3Validator.github(),
      handler: (request) => this.#route(request),
    });
  }

  get url(): string {
    return this.http.url;
  }
  get exchanges(): RecordedExchange[] {
    return this.http.exchanges;
  }
  /** Recorded exchanges for an operation id, e.g. `issues/update-comment`. */
  calls(operationId: string): RecordedExchange[] {
    return this.http.calls(operationId);
  }
  assertNoViolations(): void {
    this.http.assertNoViolations();
  }
  close(): Promise<void> {
    return this.http.close();
  }

  /** Adds comments by someone else (e.g. to push the marked comment onto page 2). */
  seedComments(issueNumber: number, bodies: string[], login = 'octocat'): FakeComment[] {
    return bodies.map((body) => this.#addComment(issueNumber, body, login));
  }

  /** Comments on one issue/PR, oldest first. */
  commentsOn(issueNumber: number): FakeComment[] {
    return this.comments.filter((c) => c.issueNumber === issueNumber);
  }

  /** Deployments for an environment, newest first. */
  deploymentsFor(environment: string): FakeDeployment[] {
    return this.deployments.filter((d) => d.environment === environment).reverse();
  }

  #now(): string {
    this.#clock += 1000;
    return new Date(this.#clock).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  #addComment(issueNumber: number, body: string, login: string): FakeComment {
    const now = this.#now();
    const comment = { id: this.#nextId++, body, login, issueNumber, created_at: now, updated_at: now };
    this.comments.push(comment);
    return comment;
  }

  #route(request: FakeRequest): FakeResponse {
    const auth = /^(?:token|Bearer) (.+)$/i.exec(String(request.headers.authorization ?? ''));
    if (!auth || !this.#tokens.has(auth[1]!)) {
      return {
        status: 401,
        body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' },
      };
    }
    const p = request.operation?.pathParams ?? {};
    const repo = `${p.owner}/${p.repo}`;
    const body = (request.body ?? {}) as Record<string, unknown>;
    const login = this.options.login ?? 'github-actions[bot]';
    switch (request.operation?.operationId) {
      case 'pulls/get': {
        // GitHub's own example has every field the schema requires; number and state are the fake's.
        const number = Number(p.pull_number);
        const state = this.closedPullRequests.has(number) ? 'closed' : 'open';
        return {
          status: 200,
          body: { ...githubExample('pull-request'), number, state, requested_teams: [] },
        };
      }
      case 'issues/list-comments': {
        const all = this.commentsOn(Number(p.issue_number));
        return this.#page(request, all, (c) => this.#commentJson(repo, c));
      }
      case 'issues/create-comment': {
        const comment = this.#addComment(Number(p.issue_number), String(body.body), login);
        return { status: 201, body: this.#commentJson(repo, comment) };
      }
      case 'issues/update-comment': {
        const comment = this.comments.find((c) => c.id === Number(p.comment_id));
        if (!comment) return notFound();
        comment.body = String(body.body);
        comment.updated_at = this.#now();
        return { status: 200, body: this.#commentJson(repo, comment) };
      }
      case 'repos/create-deployment': {
        const environment = typeof body.environment === 'string' ? body.environment : 'production';
        const deployment: FakeDeployment = {
          id: this.#nextId++,
          ref: String(body.ref),
          sha: /^[0-9a-f]{40}$/i.test(String(body.ref)) ? String(body.ref) : 'f'.repeat(40),
          environment,
          task: typeof body.task === 'string' ? body.task : 'deploy',
          description: typeof body.description === 'string' ? body.description : null,
          payload: body.payload ?? {},
          transient_environment: body.transient_environment === true,
          production_environment: body.production_environment === true || environment === 'production',
          created_at: this.#now(),
          statuses: [],
        };
        this.deployments.push(deployment);
        return { status: 201, body: this.#deploymentJson(repo, deployment) };
      }
      case 'repos/list-deployments': {
        const q = request.query;
        const list = [...this.deployments]
          .reverse()
          .filter((d) => !q.get('environment') || d.environment === q.get('environment'))
          .filter((d) => !q.get('ref') || d.ref === q.get('ref'))
          .filter((d) => !q.get('sha') || d.sha === q.get('sha'));
        return this.#page(request, list, (d) => this.#deploymentJson(repo, d));
      }
      case 'repos/create-deployment-status': {
        const deployment = this.deployments.find((d) => d.id === Number(p.deployment_id));
        if (!deployment) return notFound();
        const status = this.#addStatus(deployment, body);
        if (body.state === 'success' && body.auto_inactive !== false) this.#autoInactivate(deployment);
        return { status: 201, body: this.#statusJson(repo, deployment, status) };
      }
      case 'repos/list-deployment-statuses': {
        const deployment = this.deployments.find((d) => d.id === Number(p.deployment_id));
        if (!deployment) return notFound();
        return this.#page(request, [...deployment.statuses].reverse(), (s) =>
          this.#statusJson(repo, deployment, s),
        );
      }
      default:
        throw new Error(
          `fake GitHub does not implement ${request.operation?.operationId ?? request.pathname}`,
        );
    }
  }

  #addStatus(deployment: FakeDeployment, body: Record<string, unknown>) {
    const str = (key: string) => (typeof body[key] === 'string' ? (body[key] as string) : undefined);
    const status = {
      id: this.#nextId++,
      state: String(body.state),
      environment_url: str('environment_url'),
      log_url: str('log_url') ?? str('target_url'),
      description: str('description') ?? '',
      created_at: this.#now(),
    };
    deployment.statuses.push(status);
    return status;
  }

  /** GitHub's `auto_inactive`: prior non-transient, non-production successes in the environment go inactive. */
  #autoInactivate(current: FakeDeployment): void {
    for (const d of this.deployments) {
      if (
        d === current ||
        d.environment !== current.environment ||
        d.transient_environment ||
        d.production_environment
      )
        continue;
      if (d.statuses.at(-1)?.state === 'success')
        this.#addStatus(d, { state: 'inactive', description: 'auto_inactive' });
    }
  }

  #page<T>(request: FakeRequest, items: T[], render: (item: T) => unknown): FakeResponse {
    const perPage = Math.min(Number(request.query.get('per_page') ?? 30), 100);
    const page = Math.max(Number(request.query.get('page') ?? 1), 1);
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const headers: Record<string, string> = {};
    if (page * perPage < items.length) {
      const next = new URL(request.url, this.url);
      next.searchParams.set('page', String(page + 1));
      next.searchParams.set('per_page', String(perPage));
      headers.link = `<${next.toString()}>; rel="next"`;
    }
    return { status: 200, body: slice.map(render), headers };
  }

  #user(login: string) {
    const api = `${this.url}/users/${encodeURIComponent(login)}`;
    const bot = login.endsWith('[bot]');
    return {
      login,
      id: bot ? 41898282 : 583231,
      node_id: bot ? 'MDM6Qm90NDE4OTgyODI=' : 'MDQ6VXNlcjU4MzIzMQ==',
      avatar_url: `${this.url}/avatars/${encodeURIComponent(login)}`,
      gravatar_id: '',
      url: api,
      html_url: `${this.url}/${encodeURIComponent(login)}`,
      followers_url: `${api}/followers`,
      following_url: `${api}/following{/other_user}`,
      gists_url: `${api}/gists{/gist_id}`,
      starred_url: `${api}/starred{/owner}{/repo}`,
      subscriptions_url: `${api}/subscriptions`,
      organizations_url: `${api}/orgs`,
      repos_url: `${api}/repos`,
      events_url: `${api}/events{/privacy}`,
      received_events_url: `${api}/received_events`,
      type: bot ? 'Bot' : 'User',
      site_admin: false,
    };
  }

  #commentJson(repo: string, c: FakeComment) {
    return {
      id: c.id,
      node_id: `IC_${c.id}`,
      url: `${this.url}/repos/${repo}/issues/comments/${c.id}`,
      html_url: `${this.url}/${repo}/pull/${c.issueNumber}#issuecomment-${c.id}`,
      issue_url: `${this.url}/repos/${repo}/issues/${c.issueNumber}`,
      body: c.body,
      user: this.#user(c.login),
      created_at: c.created_at,
      updated_at: c.updated_at,
      author_association: c.login.endsWith('[bot]') ? 'NONE' : 'MEMBER',
    };
  }

  #deploymentJson(repo: string, d: FakeDeployment) {
    const url = `${this.url}/repos/${repo}/deployments/${d.id}`;
    return {
      url,
      id: d.id,
      node_id: `DE_${d.id}`,
      sha: d.sha,
      ref: d.ref,
      task: d.task,
      payload: d.payload as Record<string, unknown>,
      original_environment: d.environment,
      environment: d.environment,
      description: d.description,
      creator: this.#user(this.options.login ?? 'github-actions[bot]'),
      created_at: d.created_at,
      updated_at: d.statuses.at(-1)?.created_at ?? d.created_at,
      statuses_url: `${url}/statuses`,
      repository_url: `${this.url}/repos/${repo}`,
      transient_environment: d.transient_environment,
      production_environment: d.production_environment,
    };
  }

  #statusJson(repo: string, d: FakeDeployment, s: FakeDeployment['statuses'][number]) {
    const deploymentUrl = `${this.url}/repos/${repo}/deployments/${d.id}`;
    return {
      url: `${deploymentUrl}/statuses/${s.id}`,
      id: s.id,
      node_id: `DES_${s.id}`,
      state: s.state,
      creator: this.#user(this.options.login ?? 'github-actions[bot]'),
      description: s.description,
      environment: d.environment,
      // GitHub sends '' when no URL was given, but the description requires a URI here, and this fake
      // answers what the description allows: the deployment's own URL stands in.
      target_url: s.log_url ?? deploymentUrl,
      created_at: s.created_at,
      updated_at: s.created_at,
      deployment_url: deploymentUrl,
      repository_url: `${this.url}/repos/${repo}`,
      ...(s.environment_url !== undefined ? { environment_url: s.environment_url } : {}),
      ...(s.log_url !== undefined ? { log_url: s.log_url } : {}),
    };
  }
}

/** Starts a {@link FakeGitHub} on 127.0.0.1 with a free port; use its `url` as Octokit's `baseUrl`. */
export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const fake = new FakeGitHub(options);
  await fake.http.start();
  return fake;
}

function notFound(): FakeResponse {
  return { status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' } };
}
