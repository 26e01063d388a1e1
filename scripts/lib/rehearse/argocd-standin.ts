// The rehearsal's Argo CD for preview Applications: argocd-server's REST API (every request and
// response checked against argocd-swagger.json, as the actions' tests do) in front of a real
// application controller's behaviour: an Application with automated sync is synced when created or
// changed, a sync renders the source at its revision (argocd-source.ts) and deploys it on the stand-in
// cluster, status reports the operation, the revision and the health the stand-in measured, and a
// cascade delete removes what was deployed before the Application goes.
import type { Application, SyncRequest } from '../../../pipeline/src/argocd/index.js';
import {
  ValidatingHttpFake,
  type FakeRequest,
  type FakeResponse,
} from '../../../pipeline/src/testing/http-fake.js';
import { Swagger2Validator } from '../../../pipeline/src/testing/swagger2.js';
import type { RenderedObject } from '../../../pipeline/src/kustomize/index.js';
import { renderApplicationSource } from './argocd-source.js';

/** What deploying a render did, in Argo CD's terms. */
export interface DeployOutcome {
  phase: 'Succeeded' | 'Failed';
  message: string;
  health: { status: string; message?: string };
}

/** The stand-in cluster side: deploys an Application's render, removes it on cascade delete. */
export interface ApplicationDeployer {
  deploy(name: string, app: Application, commit: string, objects: RenderedObject[]): Promise<DeployOutcome>;
  remove(name: string): Promise<void>;
}

interface Record {
  app: Application;
  /** The operation being played, if any. */
  running?: Promise<void>;
  /** A delete in progress (the resources finalizer at work). */
  deleting?: Promise<void>;
}

/** One write to an Application, for the "one controller" check. */
export interface ApplicationWrite {
  application: string;
  /** The token's owner (the only one here: preview-env's ARGOCD_PREVIEW_TOKEN). */
  by: string;
  operation: string;
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

function grpcError(status: number, code: number, message: string): FakeResponse {
  return { status, body: { error: message, code, message } };
}

/** argocd-server and its application controller, for Applications deployed to the stand-in. */
export class StandInArgoCd {
  readonly http: ValidatingHttpFake;
  readonly apps = new Map<string, Record>();
  readonly writes: ApplicationWrite[] = [];
  readonly deleted: { name: string; cascade: boolean }[] = [];

  constructor(
    private readonly opts: {
      /** Bearer token -> who holds it. */
      tokens: Map<string, string>;
      /** The bare repository every repoURL stands for. */
      gitDir: string;
      deployer: ApplicationDeployer;
      log: (line: string) => void;
    },
  ) {
    this.http = new ValidatingHttpFake({
      name: 'stand-in Argo CD',
      validator: Swagger2Validator.load(),
      handler: (request) => this.route(request),
    });
  }

  get url(): string {
    return this.http.url;
  }

  async start(): Promise<void> {
    await this.http.start();
  }

  /** Resolves when every operation and delete in flight is done. */
  async settled(): Promise<void> {
    await Promise.all(
      [...this.apps.values()].flatMap((r) => [r.running, r.deleting].map((p) => p?.catch(() => undefined))),
    );
  }

  /** Waits for operations in flight, then stops the server. */
  async stop(): Promise<void> {
    await this.settled();
    await this.http.close();
  }

  private async route(request: FakeRequest): Promise<FakeResponse> {
    const auth = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''));
    const who = auth ? this.opts.tokens.get(auth[1]!) : undefined;
    if (!who) return grpcError(401, 16, 'invalid session: token signature is invalid');
    const op = request.operation?.operationId ?? request.pathname;
    const params = request.operation?.pathParams ?? {};
    const name = params.name ?? params['application.metadata.name'] ?? '';
    const record = this.apps.get(name);
    switch (op) {
      case 'ApplicationService_Create':
        return this.create(request.body as Application, request.query.get('upsert') === 'true', who);
      case 'ApplicationService_Get':
        return record ? { status: 200, body: structuredClone(record.app) } : this.missing();
      case 'ApplicationService_Sync': {
        if (!record) return this.missing();
        const body = (request.body ?? {}) as SyncRequest;
        const tracked = record.app.spec?.source?.targetRevision || 'HEAD';
        if (record.app.spec?.syncPolicy?.automated && body.revision && body.revision !== tracked) {
          return grpcError(400, 9, `Cannot sync to ${body.revision}: auto-sync currently set to ${tracked}`);
        }
        if (record.running) return grpcError(400, 9, 'another operation is already in progress');
        this.writes.push({ application: name, by: who, operation: 'sync' });
        this.startOperation(name, record, body.revision || tracked, { username: who });
        return { status: 200, body: structuredClone(record.app) };
      }
      case 'ApplicationService_Delete': {
        if (!record) return this.missing();
        const cascade = request.query.get('cascade') !== 'false';
        this.writes.push({ application: name, by: who, operation: 'delete' });
        if (!record.deleting) {
          // Like Kubernetes: the Application gets a deletionTimestamp at once; the resources finalizer
          // removes what it deployed in the background, then the Application goes.
          record.app.metadata = { ...record.app.metadata, deletionTimestamp: now() };
          record.deleting = (async () => {
            await record.running?.catch(() => undefined);
            if (
              cascade &&
              record.app.metadata?.finalizers?.includes('resources-finalizer.argocd.argoproj.io')
            )
              await this.opts.deployer.remove(name);
            this.apps.delete(name);
            this.deleted.push({ name, cascade });
            this.opts.log(`Argo CD: deleted ${name}${cascade ? ' with its resources' : ''}`);
          })();
        }
        return { status: 200, body: {} };
      }
      default:
        return grpcError(501, 12, `the stand-in Argo CD does not serve ${op}`);
    }
  }

  /** Argo CD >= 2.5 answers a missing application like a forbidden one. */
  private missing(): FakeResponse {
    return grpcError(403, 7, 'permission denied');
  }

  private create(app: Application, upsert: boolean, who: string): FakeResponse {
    const name = app.metadata?.name;
    if (!name) return grpcError(400, 3, 'application name is required');
    const existing = this.apps.get(name);
    if (existing && !upsert && JSON.stringify(existing.app.spec) !== JSON.stringify(app.spec)) {
      return grpcError(400, 3, 'existing application spec is different, use upsert flag to force update');
    }
    this.writes.push({ application: name, by: who, operation: existing ? 'update' : 'create' });
    const changed = !existing || JSON.stringify(existing.app.spec) !== JSON.stringify(app.spec);
    const record: Record = existing ?? {
      app: { metadata: { uid: `uid-${name}`, creationTimestamp: now(), resourceVersion: '1' }, status: {} },
    };
    record.app.metadata = {
      ...record.app.metadata,
      ...app.metadata,
      namespace: app.metadata?.namespace ?? 'argocd',
    };
    record.app.spec = app.spec;
    this.apps.set(name, record);
    // The controller notices the new desired state; automated sync starts an operation for it.
    if (changed && app.spec?.syncPolicy?.automated && !record.running) {
      record.app.status = { ...record.app.status, sync: { status: 'OutOfSync' } };
      this.startOperation(name, record, app.spec.source?.targetRevision || 'HEAD', { automated: true });
    }
    return { status: 200, body: structuredClone(record.app) };
  }

  private startOperation(
    name: string,
    record: Record,
    revision: string,
    initiatedBy: { username?: string; automated?: boolean },
  ): void {
    const operation = { sync: { revision }, initiatedBy };
    const status = (record.app.status ??= {});
    status.operationState = { operation, phase: 'Running', message: 'rendering', startedAt: now() };
    status.health = { status: 'Progressing' };
    record.running = (async () => {
      let outcome: DeployOutcome;
      let commit = '';
      try {
        const rendered = await renderApplicationSource(this.opts.gitDir, record.app);
        commit = rendered.commit;
        status.operationState!.message = `syncing ${rendered.objects.length} objects at ${commit.slice(0, 12)}`;
        outcome = await this.opts.deployer.deploy(name, record.app, commit, rendered.objects);
      } catch (err) {
        outcome = { phase: 'Failed', message: (err as Error).message, health: { status: 'Missing' } };
      }
      const finishedAt = now();
      status.operationState = {
        operation,
        phase: outcome.phase,
        message: outcome.message,
        startedAt: status.operationState!.startedAt,
        finishedAt,
        ...(commit ? { syncResult: { revision: commit, source: record.app.spec?.source } } : {}),
      };
      status.sync = {
        status: outcome.phase === 'Succeeded' ? 'Synced' : 'OutOfSync',
        ...(commit ? { revision: commit } : {}),
      };
      status.health = outcome.health;
      status.reconciledAt = finishedAt;
      this.opts.log(
        `Argo CD: ${name} sync ${outcome.phase}: ${outcome.message}; health ${outcome.health.status}`,
      );
    })().finally(() => {
      record.running = undefined;
    });
  }
}
