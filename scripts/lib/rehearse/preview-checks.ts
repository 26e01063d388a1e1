// What the preview rehearsal checks after each pull request event, on the running stand-in (issue
// 13, item 3): the preview runs the pull request's image at its head commit, answers under its own
// host and accepts only its own origin, one controller owns its Application, GitHub shows the
// deployment -- and after the close, nothing of it is left.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { parseAllDocuments } from 'yaml';
import type { FakeGitHub } from '../../../pipeline/src/testing/fake-github.js';
import type { K8sObject } from '../../../pipeline/src/validate/index.js';
import type { StandInArgoCd } from './argocd-standin.js';
import type { PreviewCluster, PreviewInstance } from './preview-cluster.js';

/** One check's outcome. */
export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
}

/** The preview the event should have produced. */
export interface ExpectedPreview {
  number: number;
  headSha: string;
  application: string;
  namespace: string;
  /** `<vars.IMAGE>:<head sha>`: build-image's immutable per-commit tag. */
  image: string;
  url: string;
}

/**
 * Objects in argocd/ that would also create or change Applications for previews: an ApplicationSet,
 * or an Application deploying to a pr-* namespace. Each is a second controller next to preview-env.
 */
export function otherPreviewControllers(argocdDir: string): string[] {
  const out: string[] = [];
  for (const file of readdirSync(argocdDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(argocdDir, file), 'utf8'))) {
      const o = doc.toJS() as {
        kind?: string;
        metadata?: { name?: string };
        spec?: { destination?: { namespace?: string }; template?: unknown; generators?: unknown[] };
      } | null;
      if (o?.kind === 'ApplicationSet') {
        out.push(`ApplicationSet/${o.metadata?.name} (argocd/${file}) generates Applications`);
      } else if (o?.kind === 'Application' && /^pr-/.test(o.spec?.destination?.namespace ?? '')) {
        out.push(
          `Application/${o.metadata?.name} (argocd/${file}) deploys to ${o.spec?.destination?.namespace}`,
        );
      }
    }
  }
  return out;
}

function ingressHost(objects: K8sObject[]): string | undefined {
  const ingress = objects.find((o) => o.kind === 'Ingress' && o.metadata.name === 'switchboard');
  return (ingress?.spec as { rules?: { host?: string }[] } | undefined)?.rules?.[0]?.host;
}

/** The WebSocket upgrade's HTTP status through the preview's nginx with `origin` (101 = accepted). */
async function upgradeStatus(
  instance: PreviewInstance,
  host: string,
  origin: string,
  token: string,
): Promise<number> {
  const url = `${instance.nginx!.httpUrl.replace(/^http/, 'ws')}/socket/websocket?vsn=2.0.0&token=${encodeURIComponent(token)}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { Host: host }, origin, handshakeTimeout: 10_000 });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.on('error', reject);
  });
}

/** Checks after opened/synchronize: the preview runs, as the pull request's head, where it should. */
export async function checkOpenPreview(
  expected: ExpectedPreview,
  argocd: StandInArgoCd,
  cluster: PreviewCluster,
  github: FakeGitHub,
  argocdDir: string,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const add = (name: string, ok: boolean, detail: string) => results.push({ name, ok, detail });
  const app = argocd.apps.get(expected.application)?.app;
  const status = app?.status;
  add(
    'Application synced at the head commit',
    !!app &&
      status?.sync?.status === 'Synced' &&
      status.operationState?.syncResult?.revision === expected.headSha &&
      status.health?.status === 'Healthy',
    app
      ? `${expected.application}: ${status?.sync?.status} at ${status?.sync?.revision?.slice(0, 12) ?? 'none'} (head ${expected.headSha.slice(0, 12)}), ${status?.health?.status}${status?.health?.message ? `: ${status.health.message}` : ''}`
      : `Argo CD has no Application ${expected.application}`,
  );
  const writers = [
    ...new Set(argocd.writes.filter((w) => w.application === expected.application).map((w) => w.by)),
  ];
  const others = otherPreviewControllers(argocdDir);
  add(
    'one controller owns it',
    writers.length <= 1 && others.length === 0,
    others.length > 0 || writers.length > 1
      ? `besides ${writers.join(', ') || 'preview-env'}: ${others.join('; ')}${writers.length > 1 ? ` (written by ${writers.join(', ')})` : ''}: they overwrite each other's spec`
      : `only ${writers[0] ?? 'nobody'} wrote ${expected.application}; argocd/ has no ApplicationSet and no Application for pr-* namespaces`,
  );
  const instance = cluster.instances.get(expected.application);
  add(
    "pods run the pull request's image",
    !!instance && instance.image === expected.image && instance.replicas.length > 0,
    instance
      ? instance.image === expected.image
        ? `${instance.replicas.length} pod(s) of ${instance.image} (${instance.replicas.map((r) => r.where()).join(', ')})`
        : `the preview runs ${instance.image || 'no image'}, not the pull request's image ${expected.image} (the immutable per-commit tag)`
      : `nothing of ${expected.application} runs on the stand-in`,
  );
  const others2 = [...cluster.instances.values()].filter(
    (i) => i.application === expected.application && i.commit !== expected.headSha,
  );
  if (others2.length > 0)
    add(
      'older commits replaced',
      false,
      `still running: ${others2.map((i) => i.commit.slice(0, 12)).join(', ')}`,
    );
  if (instance?.nginx) {
    const host = new URL(expected.url).hostname;
    const origin = new URL(expected.url).origin;
    const rendered = ingressHost(instance.objects);
    const allowed = instance.env.ALLOWED_ORIGINS ?? '';
    const secret = instance.secrets['switchboard-secrets']?.JWT_SECRET ?? '';
    const token = await new SignJWT({ sub: 'rehearsal', join: ['room:*'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(secret));
    const foreign = origin.replace(`pr-${expected.number}.`, `pr-${expected.number + 1}.`);
    const own = await upgradeStatus(instance, host, origin, token).catch(() => -1);
    const other = await upgradeStatus(instance, host, foreign, token).catch(() => -1);
    add(
      'its own host and origin',
      rendered === host &&
        allowed
          .split(',')
          .map((s) => s.trim())
          .includes(origin) &&
        own === 101 &&
        other === 403,
      `Ingress host ${rendered ?? 'none'} (want ${host}); ALLOWED_ORIGINS ${allowed || 'unset'}; WebSocket through the Ingress with Origin ${origin}: ${own === 101 ? 'accepted' : `HTTP ${own}`}, with ${foreign}: ${other === 403 ? 'refused (403)' : `HTTP ${other}`}`,
    );
  }
  const deployment = github.deploymentsFor(expected.namespace)[0];
  const last = deployment?.statuses.at(-1);
  add(
    'GitHub deployment and comment',
    deployment?.sha === expected.headSha &&
      last?.state === 'success' &&
      last.environment_url === expected.url &&
      github.commentsOn(expected.number).length === 1,
    deployment
      ? `deployment ${deployment.id} of ${deployment.sha.slice(0, 12)} in ${deployment.environment}: ${last?.state} ${last?.environment_url ?? ''}; ${github.commentsOn(expected.number).length} preview comment(s)`
      : `no deployment in environment ${expected.namespace}`,
  );
  return results;
}

/** Checks after closed: the Application, its pods, its edge and its GitHub deployments are gone. */
export async function checkClosedPreview(
  expected: ExpectedPreview,
  argocd: StandInArgoCd,
  cluster: PreviewCluster,
  github: FakeGitHub,
  before: PreviewInstance | undefined,
): Promise<CheckResult[]> {
  // The finalizer removes the resources after the DELETE was answered: give it up to 2 minutes.
  await Promise.race([argocd.settled(), new Promise((r) => setTimeout(r, 120_000))]);
  const app = argocd.apps.get(expected.application);
  const instance = cluster.instances.get(expected.application);
  const answering: string[] = [];
  for (const r of before?.replicas ?? []) {
    const up = await fetch(`http://127.0.0.1:${r.metricsPort}/readyz`, { signal: AbortSignal.timeout(2000) })
      .then(() => true)
      .catch(() => false);
    if (up) answering.push(r.name);
  }
  const active = github
    .deploymentsFor(expected.namespace)
    .filter((d) => d.statuses.at(-1)?.state !== 'inactive');
  return [
    {
      name: 'preview removed after close',
      ok: !app && !instance && answering.length === 0,
      detail:
        !app && !instance && answering.length === 0
          ? `${expected.application} deleted with its resources (${argocd.deleted.map((d) => `${d.name}${d.cascade ? ' cascade' : ''}`).join(', ')}); no pod answers`
          : `preview left after close: ${[
              app ? `Application ${expected.application} still exists` : '',
              instance ? `${instance.replicas.length} pod(s) of ${instance.image} still run` : '',
              answering.length ? `${answering.join(', ')} still answer /readyz` : '',
            ]
              .filter(Boolean)
              .join('; ')}`,
    },
    {
      name: 'GitHub deployments inactive',
      ok: active.length === 0,
      detail:
        active.length === 0
          ? `every deployment in ${expected.namespace} is inactive`
          : `${active.length} deployment(s) in ${expected.namespace} still ${active.map((d) => d.statuses.at(-1)?.state).join(', ')}`,
    },
  ];
}
