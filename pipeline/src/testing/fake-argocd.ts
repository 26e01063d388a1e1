import type { Application, RevisionHistory, RollbackRequest, SyncRequest } from '../argocd/types.js';
import { ID_TOKEN_TYPE, ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT } from '../argocd/dex.js';
import {
  advance,
  FakeClock,
  requestOperation,
  resourceTree,
  seedRecord,
  terminate,
  type AppRecord,
  type FakeAppSeed,
  type FakeOperationScript,
} from './fake-argocd-state.js';
import {
  ValidatingHttpFake,
  type FakeRequest,
  type FakeResponse,
  type RecordedExchange,
} from './http-fake.js';
import { Swagger2Validator } from './swagger2.js';

export type { FakeAppSeed, FakeOperationScript, FakeResource } from './fake-argocd-state.js';

/** Options for {@link startFakeArgoCd}. */
export interface FakeArgoCdOptions {
  /** Bearer tokens accepted. Default `['test-token']`. */
  tokens?: string[];
  /** Serve Dex's token-exchange endpoint at `/api/dex/token` (as argocd-server proxies it). */
  dex?: {
    connectorId: string;
    clientId: string;
    /** Decides whether a subject token (the GitHub ID token) is genuine. */
    acceptSubjectToken: (token: string) => boolean;
  };
  /** What Argo CD answers for an application that does not exist. Default `permission-denied` (Argo CD >= 2.5). */
  missingApp?: 'permission-denied' | 'not-found';
  /** Branches/tags and the commits they point at; sync and rollback resolve revisions through it as Argo CD does. */
  refs?: Record<string, string>;
}

/** A Dex token-exchange request as the fake received it. */
export interface DexExchangeRecord {
  form: Record<string, string>;
  status: number;
  issuedToken?: string;
}

/**
 * An in-process fake of argocd-server's REST API (plus Dex's token endpoint), every request and response
 * validated against argocd-swagger.json. Applications follow a scripted, deterministic life: each request
 * about an app (GET, sync, rollback, resource tree...) advances its controller one step (operation
 * requested -> Running -> finished -> reconciled -> Progressing -> final health), with timestamps from a
 * fake clock that ticks once per request. No timers: the same requests always see the same states.
 */
export class FakeArgoCd {
  readonly http: ValidatingHttpFake;
  readonly clock = new FakeClock();
  readonly apps = new Map<string, AppRecord>();
  /** Every `DELETE /api/v1/applications/{name}` that succeeded, with its cascade flag. */
  readonly deleted: { name: string; cascade: boolean }[] = [];
  readonly dexExchanges: DexExchangeRecord[] = [];
  readonly #tokens: Set<string>;

  constructor(readonly options: FakeArgoCdOptions = {}) {
    this.#tokens = new Set(options.tokens ?? ['test-token']);
    this.http = new ValidatingHttpFake({
      name: 'fake Argo CD',
      validator: Swagger2Validator.load(),
      handler: (request) => this.#route(request),
      unvalidated: (path) => path.startsWith('/api/dex/'),
    });
  }

  get url(): string {
    return this.http.url;
  }
  get exchanges(): RecordedExchange[] {
    return this.http.exchanges;
  }
  /** Recorded exchanges for an operation id, e.g. `ApplicationService_Sync`. */
  calls(operationId: string): RecordedExchange[] {
    return this.http.calls(operationId);
  }
  assertNoViolations(): void {
    this.http.assertNoViolations();
  }
  close(): Promise<void> {
    return this.http.close();
  }

  /** Adds an app, Synced and Healthy at the last of `seed.history`. */
  addApplication(seed: FakeAppSeed): void {
    this.apps.set(seed.name, seedRecord(seed, this.clock));
  }

  /** Queues how the next sync/rollback operations on `name` play out (first in, first used). */
  script(name: string, ...scripts: FakeOperationScript[]): void {
    this.#record(name).queue.push(...scripts);
  }

  /** Starts someone else's operation (e.g. auto-sync) that blocks new ones for `runningPolls` GETs. */
  startForeignOperation(name: string, runningPolls: number): void {
    const record = this.#record(name);
    const revision = record.app.status?.sync?.revision ?? '';
    const health = record.app.status?.health?.status as FakeOperationScript['health'];
    requestOperation(record, { sync: { revision }, initiatedBy: { automated: true } }, revision, {
      runningPolls,
      health,
      progressingPolls: 0,
    });
  }

  /** A deep copy of the app's current state (does not advance it). */
  application(name: string): Application {
    return structuredClone(this.#record(name).app);
  }

  #record(name: string): AppRecord {
    const record = this.apps.get(name);
    if (!record) throw new Error(`fake Argo CD: no application "${name}" (add it with addApplication)`);
    return record;
  }

  async #route(request: FakeRequest): Promise<FakeResponse> {
    this.clock.tick();
    if (request.pathname === '/api/dex/token' && request.method === 'POST') return this.#dexToken(request);
    const auth = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''));
    if (!auth || !this.#tokens.has(auth[1]!)) {
      return grpcError(401, 16, 'invalid session: token signature is invalid');
    }
    const op = request.operation?.operationId;
    const params = request.operation?.pathParams ?? {};
    const name = params.name ?? params.applicationName ?? params['application.metadata.name'] ?? '';
    // Argo CD looks an app up in the namespace the request names (`appNamespace`, in the query or the
    // sync/rollback body, the object's own metadata for an update), its own namespace when none: an app
    // in another namespace is not found.
    const body = request.body as { appNamespace?: string; metadata?: { namespace?: string } } | undefined;
    const wanted =
      request.query.get('appNamespace') || body?.appNamespace || body?.metadata?.namespace || 'argocd';
    const found = this.apps.get(name);
    const record = found && (found.app.metadata?.namespace ?? 'argocd') === wanted ? found : undefined;
    // The controller moves on while clients talk to the app: one step per request about it.
    if (record && op !== 'ApplicationService_Create' && op !== 'ApplicationService_Update')
      advance(record, this.clock);
    switch (op) {
      case 'ApplicationService_Create':
        return this.#create(request.body as Application, request.query.get('upsert') === 'true');
      case 'ApplicationService_Get':
        return record ? ok(record.app) : this.#missing(name);
      case 'ApplicationService_ResourceTree':
        return record ? ok(resourceTree(record, this.clock)) : this.#missing(name);
      case 'ApplicationService_Update': {
        if (!record) return this.#missing(name);
        const body = request.body as Application;
        record.app.spec = body.spec;
        record.app.metadata = {
          ...record.app.metadata,
          labels: body.metadata?.labels,
          annotations: body.metadata?.annotations,
        };
        return ok(record.app);
      }
      case 'ApplicationService_Delete':
        if (!record) return this.#missing(name);
        this.apps.delete(name);
        this.deleted.push({ name, cascade: request.query.get('cascade') === 'true' });
        return ok({});
      case 'ApplicationService_Sync':
        return record ? this.#sync(record, request.body as SyncRequest) : this.#missing(name);
      case 'ApplicationService_Rollback':
        return record ? this.#rollback(record, request.body as RollbackRequest) : this.#missing(name);
      case 'ApplicationService_TerminateOperation':
        if (!record) return this.#missing(name);
        return terminate(record)
          ? ok({})
          : grpcError(400, 3, 'Unable to terminate operation. No operation is in progress');
      default:
        throw new Error(`fake Argo CD does not implement ${op ?? request.pathname}`);
    }
  }

  #missing(name: string): FakeResponse {
    return this.options.missingApp === 'not-found'
      ? grpcError(404, 5, `applications.argoproj.io "${name}" not found`)
      : grpcError(403, 7, 'permission denied');
  }

  #create(app: Application, upsert: boolean): FakeResponse {
    const name = app.metadata?.name;
    if (!name) return grpcError(400, 3, 'application name is required');
    const existing = this.apps.get(name);
    if (existing) {
      if (!upsert && JSON.stringify(existing.app.spec) !== JSON.stringify(app.spec)) {
        return grpcError(400, 3, 'existing application spec is different, use upsert flag to force update');
      }
      existing.app.spec = app.spec;
      existing.app.metadata = {
        ...existing.app.metadata,
        labels: app.metadata?.labels,
        annotations: app.metadata?.annotations,
        finalizers: app.metadata?.finalizers,
      };
      return ok(existing.app);
    }
    const record = seedRecord({ name, namespace: app.metadata?.namespace }, this.clock);
    record.app.metadata = {
      ...record.app.metadata,
      ...app.metadata,
      resourceVersion: '1',
      uid: `uid-${name}`,
      creationTimestamp: this.clock.now(),
    };
    record.app.spec = app.spec;
    this.apps.set(name, record);
    return ok(record.app);
  }

  #sync(record: AppRecord, body: SyncRequest): FakeResponse {
    const app = record.app;
    const tracked = app.spec?.source?.targetRevision || 'HEAD';
    const automated = app.spec?.syncPolicy?.automated;
    if (automated && automated.enabled !== false && body.revision && body.revision !== tracked) {
      return grpcError(
        400,
        9,
        `Cannot sync to ${body.revision}: auto-sync currently set to ${app.spec?.source?.targetRevision ?? ''}`,
      );
    }
    if (app.operation) return grpcError(400, 9, 'another operation is already in progress');
    const requested = body.revision || tracked;
    const revision = this.options.refs?.[requested] ?? requested;
    const operation = {
      sync: {
        revision,
        prune: body.prune,
        syncStrategy: body.strategy,
        ...(body.dryRun ? { dryRun: true } : {}),
      },
      initiatedBy: { username: 'admin' },
    };
    requestOperation(record, operation, revision, record.queue.shift() ?? {});
    return ok(app);
  }

  #rollback(record: AppRecord, body: RollbackRequest): FakeResponse {
    const app = record.app;
    const automated = app.spec?.syncPolicy?.automated;
    if (automated && automated.enabled !== false) {
      return grpcError(400, 9, 'rollback cannot be initiated when auto-sync is enabled');
    }
    if (app.operation) return grpcError(400, 9, 'another operation is already in progress');
    const entry: RevisionHistory | undefined = app.status?.history?.find((h) => h.id === Number(body.id));
    if (!entry)
      return grpcError(
        400,
        3,
        `application ${app.metadata?.name} does not have deployment with id ${body.id}`,
      );
    const operation = {
      sync: { revision: entry.revision, source: entry.source, prune: body.prune },
      initiatedBy: { username: 'admin' },
    };
    requestOperation(record, operation, entry.revision ?? '', record.queue.shift() ?? {});
    return ok(app);
  }

  #dexToken(request: FakeRequest): FakeResponse {
    const form = Object.fromEntries(new URLSearchParams(request.rawBody));
    const answer = (status: number, body: Record<string, unknown>): FakeResponse => {
      this.dexExchanges.push({
        form,
        status,
        issuedToken: typeof body.access_token === 'string' ? body.access_token : undefined,
      });
      return { status, body };
    };
    const dex = this.options.dex;
    if (!dex)
      return answer(404, { error: 'not_found', error_description: 'Dex is not configured in this fake' });
    if (!/x-www-form-urlencoded/.test(String(request.headers['content-type']))) {
      return answer(400, {
        error: 'invalid_request',
        error_description: 'body must be application/x-www-form-urlencoded',
      });
    }
    if (form.grant_type !== TOKEN_EXCHANGE_GRANT) return answer(400, { error: 'unsupported_grant_type' });
    if (form.client_id !== dex.clientId)
      return answer(401, { error: 'invalid_client', error_description: 'Invalid client credentials.' });
    if (form.subject_token_type !== ID_TOKEN_TYPE && form.subject_token_type !== ACCESS_TOKEN_TYPE) {
      return answer(400, { error: 'invalid_request', error_description: 'Invalid subject_token_type.' });
    }
    if (!form.subject_token)
      return answer(400, { error: 'invalid_request', error_description: 'Missing subject_token' });
    if (form.connector_id !== dex.connectorId) {
      return answer(400, {
        error: 'invalid_request',
        error_description: 'Requested connector does not exist.',
      });
    }
    if (!dex.acceptSubjectToken(form.subject_token)) return answer(401, { error: 'access_denied' });
    const token = `dex-issued-${this.dexExchanges.length + 1}`;
    this.#tokens.add(token);
    return answer(200, {
      access_token: token,
      issued_token_type: form.requested_token_type || ACCESS_TOKEN_TYPE,
      token_type: 'bearer',
      expires_in: 86399,
    });
  }
}

/** Starts a {@link FakeArgoCd} on 127.0.0.1 with a free port. */
export async function startFakeArgoCd(options: FakeArgoCdOptions = {}): Promise<FakeArgoCd> {
  const fake = new FakeArgoCd(options);
  await fake.http.start();
  return fake;
}

function ok(body: unknown): FakeResponse {
  return { status: 200, body: structuredClone(body) };
}

/** grpc-gateway's error body (`runtimeError`). */
function grpcError(status: number, code: number, message: string): FakeResponse {
  return { status, body: { error: message, code, message } };
}
