import { ArgoCdError, errorFromResponse } from './errors.js';
import type { Application, ApplicationTree, RollbackRequest, SyncRequest } from './types.js';

/** How to reach Argo CD. */
export interface ArgoCdClientOptions {
  /** argocd-server base URL, e.g. `https://argocd.example.com`. A bare host name gets `https://`. */
  server: string;
  /** Bearer token: an Argo CD API token, or the token returned by {@link exchangeIdTokenWithDex}. */
  token: string;
  /** Per-request timeout; default 30 s. */
  requestTimeoutMs?: number;
  /** Injected for tests of the client itself; defaults to the global `fetch`. */
  fetch?: typeof fetch;
  userAgent?: string;
}

/** Scopes a call to an Application in a namespace other than Argo CD's own ("apps in any namespace"). */
export interface AppNamespaceOption {
  appNamespace?: string;
}

/**
 * Turns the `server` input into a base URL, or throws naming the problem.
 * Accepts `https://host[:port][/prefix]` and a bare `host[:port]`.
 */
export function normalizeServerUrl(server: string): string {
  const trimmed = server.trim().replace(/\/+$/, '');
  if (!trimmed)
    throw new Error('server is empty: set it to the argocd-server URL, e.g. https://argocd.example.com');
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(
      `server "${server}" is not a URL: set it to the argocd-server URL, e.g. https://argocd.example.com`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`server "${server}" must be an http(s) URL`);
  }
  return url.toString().replace(/\/+$/, '');
}

type Query = Record<string, string | boolean | number | undefined>;

/**
 * A typed client for the Argo CD REST API endpoints Switchboard's actions use
 * (paths, parameters and bodies as in argocd-swagger.json). Every failure is an {@link ArgoCdError}.
 */
export class ArgoCdClient {
  readonly baseUrl: string;
  readonly #token: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #userAgent: string;

  constructor(options: ArgoCdClientOptions) {
    this.baseUrl = normalizeServerUrl(options.server);
    if (!options.token) throw new Error('token is empty: pass an Argo CD API token or enable OIDC');
    this.#token = options.token;
    this.#timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#fetch = options.fetch ?? fetch;
    this.#userAgent = options.userAgent ?? 'switchboard-actions';
  }

  /** GET /api/v1/applications/{name}. `refresh` asks the controller to re-read Git first. */
  getApplication(name: string, options: AppNamespaceOption & { refresh?: 'normal' | 'hard' } = {}) {
    return this.#request<Application>('GET', `/api/v1/applications/${seg(name)}`, {
      query: { appNamespace: options.appNamespace, refresh: options.refresh },
    });
  }

  /** POST /api/v1/applications/{name}/sync: starts a sync operation and returns the app with `operation` set. */
  syncApplication(name: string, request: Omit<SyncRequest, 'name'>) {
    return this.#request<Application>('POST', `/api/v1/applications/${seg(name)}/sync`, {
      body: { name, ...request },
    });
  }

  /** GET /api/v1/applications/{applicationName}/resource-tree: live resources including children (Pods...). */
  getResourceTree(name: string, options: AppNamespaceOption = {}) {
    return this.#request<ApplicationTree>('GET', `/api/v1/applications/${seg(name)}/resource-tree`, {
      query: { appNamespace: options.appNamespace },
    });
  }

  /** POST /api/v1/applications. With `upsert`, replaces the spec of an existing app of that name. */
  createApplication(app: Application, options: { upsert?: boolean; validate?: boolean } = {}) {
    return this.#request<Application>('POST', '/api/v1/applications', {
      query: { upsert: options.upsert, validate: options.validate },
      body: app,
    });
  }

  /** PUT /api/v1/applications/{application.metadata.name}: replaces the whole app object. */
  updateApplication(app: Application, options: { validate?: boolean } = {}) {
    const name = app.metadata?.name;
    if (!name) throw new Error('updateApplication: app.metadata.name is required');
    return this.#request<Application>('PUT', `/api/v1/applications/${seg(name)}`, {
      query: { validate: options.validate },
      body: app,
    });
  }

  /**
   * DELETE /api/v1/applications/{name}. `cascade: true` deletes the app's Kubernetes resources too
   * (Argo CD adds the resources finalizer); `false` leaves them running.
   */
  async deleteApplication(name: string, options: AppNamespaceOption & { cascade: boolean }): Promise<void> {
    await this.#request<unknown>('DELETE', `/api/v1/applications/${seg(name)}`, {
      query: { cascade: options.cascade, appNamespace: options.appNamespace },
    });
  }

  /** POST /api/v1/applications/{name}/rollback to `status.history[].id`. Refused while auto-sync is on. */
  rollbackApplication(name: string, request: Omit<RollbackRequest, 'name'> & { id: number }) {
    return this.#request<Application>('POST', `/api/v1/applications/${seg(name)}/rollback`, {
      body: { name, ...request },
    });
  }

  /** DELETE /api/v1/applications/{name}/operation: asks the controller to terminate the running operation. */
  async terminateOperation(name: string, options: AppNamespaceOption = {}): Promise<void> {
    await this.#request<unknown>('DELETE', `/api/v1/applications/${seg(name)}/operation`, {
      query: { appNamespace: options.appNamespace },
    });
  }

  async #request<T>(method: string, path: string, init: { query?: Query; body?: unknown }): Promise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(init.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#token}`,
      accept: 'application/json',
      'user-agent': this.#userAgent,
    };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method,
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (cause) {
      const reason =
        cause instanceof Error
          ? cause.cause instanceof Error
            ? cause.cause.message
            : cause.message
          : String(cause);
      throw new ArgoCdError(
        'ARGOCD_UNREACHABLE',
        `cannot reach Argo CD at ${this.baseUrl} (${method} ${path}): ${reason}`,
        { method, path },
        { cause },
      );
    }
    const text = await response.text();
    const body = parseJson(text);
    if (!response.ok) throw errorFromResponse(method, path, response.status, body ?? text);
    if (body === undefined && text.trim() !== '') {
      throw new ArgoCdError(
        'ARGOCD_BAD_RESPONSE',
        `Argo CD ${method} ${path} answered ${response.status} with a non-JSON body (${text.slice(0, 80)}...): is "${this.baseUrl}" the argocd-server API URL?`,
        { status: response.status, method, path },
      );
    }
    return (body ?? {}) as T;
  }
}

function seg(value: string): string {
  return encodeURIComponent(value);
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
