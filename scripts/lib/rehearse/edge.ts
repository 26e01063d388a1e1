// The stand-in's edge proxy settings from whichever edge the overlay renders: the Ingress
// (ingress-nginx component, manifests.ts) or, by default, the Gateway API HTTPRoute with Envoy
// Gateway's BackendTrafficPolicy. nginx plays Envoy's part; the settings are Envoy Gateway v1.9.0's
// (internal/xds/translator/route.go: a route's idle timeout is the policy's streamIdleTimeout; with
// none and the request timeout disabled, the idle timeout is disabled too; with no loadBalancer, the
// cluster's policy is least_request: internal/xds/translator/cluster.go, commit 39763b1c07ec).
import type { K8sObject } from '../../../pipeline/src/validate/index.js';
import type { NginxBalance } from '../../../testkit/src/nginx.js';
import { ingressSettings, ManifestError, type IngressSettings } from './manifests.js';

/** Seconds of a Gateway API Duration (`1h`, `3600s`, `1m30s`, `500ms`). */
export function durationSeconds(text: string, where: string): number {
  if (!/^(\d{1,5}(h|m|s|ms)){1,4}$/.test(text)) {
    throw new ManifestError(`${where}: "${text}" is not a Gateway API duration (e.g. 3600s, 1h)`);
  }
  let total = 0;
  for (const m of text.matchAll(/(\d+)(h|ms|m|s)/g)) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : m[2] === 's' ? n : n / 1000;
  }
  return total;
}

interface RouteSpec {
  rules?: Array<{
    matches?: Array<{ path?: { type?: string; value?: string } }>;
    timeouts?: { request?: string };
  }>;
}

/** The policy's loadBalancer.type (`type`) as nginx plays it; the types nginx has no match for are refused. */
function balanceOf(type: string | undefined, policy: string | undefined): NginxBalance {
  const played: Record<string, NginxBalance> = {
    LeastRequest: 'least-request',
    RoundRobin: 'round-robin',
    Random: 'random',
  };
  if (type === undefined) return 'least-request';
  const balance = Object.hasOwn(played, type) ? played[type] : undefined;
  if (!balance) {
    throw new ManifestError(
      `BackendTrafficPolicy/${policy} loadBalancer.type ${type}: the rehearsal's edge plays LeastRequest (the default), RoundRobin and Random only`,
    );
  }
  return balance;
}

/** nginx settings for the HTTPRoute `name` and the BackendTrafficPolicy that targets it. */
export function gatewayRouteSettings(objects: K8sObject[], name = 'switchboard'): IngressSettings {
  const route = objects.find((o) => o.kind === 'HTTPRoute' && o.metadata.name === name);
  if (!route) throw new ManifestError(`the render has neither Ingress/${name} nor HTTPRoute/${name}`);
  const rules = (route.spec as RouteSpec | undefined)?.rules ?? [];
  const paths = rules
    .flatMap((r) => r.matches ?? [])
    .map((m) => m.path?.value ?? '/')
    .filter((p, i, a) => a.indexOf(p) === i);
  if (paths.length === 0) throw new ManifestError(`HTTPRoute/${name} routes no paths (spec.rules[].matches)`);
  const policy = objects.find(
    (o) =>
      o.kind === 'BackendTrafficPolicy' &&
      (
        (o.spec as { targetRefs?: Array<{ kind?: string; name?: string }> } | undefined)?.targetRefs ?? []
      ).some((t) => t.kind === 'HTTPRoute' && t.name === name),
  );
  const idle = (policy?.spec as { timeout?: { http?: { streamIdleTimeout?: string } } } | undefined)?.timeout
    ?.http?.streamIdleTimeout;
  const loadBalancer = (policy?.spec as { loadBalancer?: { type?: string } } | undefined)?.loadBalancer?.type;
  const requestTimeouts = rules.map((r) => r.timeouts?.request).filter((t): t is string => t !== undefined);
  let idleSeconds: number;
  if (idle !== undefined)
    idleSeconds = durationSeconds(idle, `BackendTrafficPolicy/${policy?.metadata.name} streamIdleTimeout`);
  else if (requestTimeouts.some((t) => durationSeconds(t, `HTTPRoute/${name} timeouts.request`) === 0)) {
    throw new ManifestError(
      `HTTPRoute/${name} disables the request timeout and no BackendTrafficPolicy sets streamIdleTimeout: Envoy Gateway then never closes an idle WebSocket (dead peers pile up)`,
    );
  } else idleSeconds = 300; // Envoy's stream_idle_timeout default
  return {
    annotations: {
      route: `HTTPRoute/${name}`,
      ...(idle !== undefined ? { streamIdleTimeout: idle } : {}),
      ...(requestTimeouts.length > 0 ? { 'timeouts.request': requestTimeouts.join(', ') } : {}),
      'loadBalancer.type': loadBalancer ?? 'LeastRequest (the default)',
    },
    nginx: {
      proxyReadTimeoutSeconds: idleSeconds,
      proxySendTimeoutSeconds: idleSeconds,
      // Envoy Gateway's default cluster connect timeout.
      proxyConnectTimeoutSeconds: 10,
      // Envoy forwards a WebSocket upgrade over HTTP/1.1 and streams without buffering.
      proxyHttpVersion: '1.1',
      proxyBuffering: false,
      paths,
      balance: balanceOf(loadBalancer, policy?.metadata.name),
    },
  };
}

/** The edge the overlay renders: the Ingress when there is one, else the Gateway route. */
export function edgeSettings(objects: K8sObject[], name = 'switchboard'): IngressSettings {
  return objects.some((o) => o.kind === 'Ingress' && o.metadata.name === name)
    ? ingressSettings(objects, name)
    : gatewayRouteSettings(objects, name);
}
