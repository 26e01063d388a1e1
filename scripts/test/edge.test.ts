// The edge (issue 13 item 12): Gateway API on Envoy Gateway by default, ingress-nginx as a component,
// both validated against the pinned CRDs; the rehearsal's stand-in reads either.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { durationSeconds, edgeSettings, gatewayRouteSettings } from '../lib/rehearse/edge.js';
import { ManifestError } from '../lib/rehearse/manifests.js';
import {
  checkServedApis,
  gatewayRoutesPolicy,
  validateSchemas,
  type K8sObject,
} from '../../pipeline/src/validate/index.js';
import { ctx, find, rendered, type Loose } from './validate-fixtures.js';

const gatewayOverlays = ['overlays/dev', 'overlays/staging', 'overlays/production'];

describe('the edge', () => {
  test('dev, staging and production route through the Gateway with WebSocket timeouts; no Ingress', async () => {
    const gateway = find(await rendered('base/edge/gateway'), 'Gateway', 'public');
    const listeners = gateway.spec.listeners as Loose[];
    for (const dir of gatewayOverlays) {
      const objects = await rendered(dir);
      assert.equal(objects.filter((o) => o.kind === 'Ingress').length, 0, dir);
      const route = find(objects, 'HTTPRoute', 'switchboard');
      assert.deepEqual(route.spec.parentRefs, [
        {
          group: 'gateway.networking.k8s.io',
          kind: 'Gateway',
          name: 'public',
          namespace: 'envoy-gateway-system',
        },
      ]);
      const socket = (route.spec.rules as Loose[]).find((r) => r.matches[0].path.value === '/socket');
      assert.equal(socket.timeouts.request, '0s');
      const policy = find(objects, 'BackendTrafficPolicy', 'switchboard');
      assert.equal(policy.spec.timeout.http.streamIdleTimeout, '3600s');
      // The Gateway has an HTTPS listener for the route's host that admits the overlay's namespace.
      const [host] = route.spec.hostnames as string[];
      const listener = listeners.find((l) => l.hostname === host);
      assert.ok(listener, `${dir}: no listener for ${host}`);
      assert.equal(listener.protocol, 'HTTPS');
      assert.ok(
        listener.allowedRoutes.namespaces.selector.matchExpressions[0].values.includes(
          route.metadata.namespace,
        ),
      );
      // Clients reach the server from Envoy's proxies.
      const from = find(objects, 'NetworkPolicy', 'switchboard').spec.ingress[0].from[0];
      assert.equal(from.namespaceSelector.matchLabels['kubernetes.io/metadata.name'], 'envoy-gateway-system');
    }
  });

  test('the ingress-nginx component replaces the route with the Ingress (overlays/local)', async () => {
    const objects = await rendered('overlays/local');
    assert.equal(
      objects.filter((o) => o.kind === 'HTTPRoute' || o.kind === 'BackendTrafficPolicy').length,
      0,
    );
    const ingress = find(objects, 'Ingress', 'switchboard');
    assert.equal(ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-read-timeout'], '3600');
    const from = find(objects, 'NetworkPolicy', 'switchboard').spec.ingress[0].from[0];
    assert.equal(from.podSelector.matchLabels['app.kubernetes.io/name'], 'ingress-nginx');
  });

  test('route, policy and Gateway are checked against the pinned Gateway API and Envoy Gateway CRDs', async () => {
    const objects = await rendered('overlays/staging');
    assert.deepEqual(checkServedApis(ctx(objects, 'overlays/staging')), []);
    const route = find(objects, 'HTTPRoute', 'switchboard');
    route.spec.rules[0].timeouts.request = 'forever';
    route.spec.rules[0].timeoutz = {};
    find(objects, 'BackendTrafficPolicy', 'switchboard').spec.timeout.http.streamIdleTimout = '1h';
    const gatewayObjects = await rendered('base/edge/gateway');
    find(gatewayObjects, 'Gateway', 'public').spec.listeners[0].protocol = 7;
    const problems = await validateSchemas(ctx([...objects, ...gatewayObjects], 'overlays/staging', false));
    assert.deepEqual(problems.map((p) => `${p.check} ${p.object} ${p.field}`).sort(), [
      'schema Gateway/public spec.listeners[0].protocol',
      'schema HTTPRoute/switchboard spec.rules[0].timeouts.request',
      'unknown-field BackendTrafficPolicy/switchboard spec.timeout.http.streamIdleTimout',
      'unknown-field HTTPRoute/switchboard spec.rules[0].timeoutz',
    ]);
    route.apiVersion = 'gateway.networking.k8s.io/v1alpha2';
    assert.match(
      checkServedApis(ctx([route as K8sObject], 'overlays/staging'))[0]?.message ?? '',
      /gateway-api v1\.6\.1 does not serve gateway\.networking\.k8s\.io\/v1alpha2 HTTPRoute/,
    );
  });

  test('a route to a missing Service or port, and a policy for a missing route, are reported', async () => {
    const objects = await rendered('overlays/production');
    assert.deepEqual(gatewayRoutesPolicy.check(ctx(objects)), []);
    const route = find(objects, 'HTTPRoute', 'switchboard');
    route.spec.rules[0].backendRefs[0].port = 4001;
    route.spec.rules[1].backendRefs[0].name = 'switchbord';
    find(objects, 'BackendTrafficPolicy', 'switchboard').spec.targetRefs[0].name = 'socket';
    assert.deepEqual(
      gatewayRoutesPolicy.check(ctx(objects)).map((p) => `${p.object} ${p.field}: ${p.message}`),
      [
        'HTTPRoute/switchboard spec.rules[0].backendRefs[0].port: Service/switchboard has no port 4001 (ports: 4000, 9464)',
        'HTTPRoute/switchboard spec.rules[1].backendRefs[0].name: Service "switchbord" is not in this render',
        'BackendTrafficPolicy/switchboard spec.targetRefs[0]: HTTPRoute/socket is not in this render: the policy would apply to nothing',
      ],
    );
    route.spec.rules[0].backendRefs[0].port = 9464;
    assert.match(
      gatewayRoutesPolicy.check(ctx(objects))[0]?.message ?? '',
      /^routes to Service\/switchboard port 9464, the operations port/,
    );
  });

  test('the rehearsal proxies the Gateway route as Envoy Gateway would: idle timeout from the policy', async () => {
    const staging = await rendered('overlays/staging');
    assert.deepEqual(edgeSettings(staging).nginx, {
      proxyReadTimeoutSeconds: 3600,
      proxySendTimeoutSeconds: 3600,
      proxyConnectTimeoutSeconds: 10,
      proxyHttpVersion: '1.1',
      proxyBuffering: false,
      paths: ['/socket', '/api'],
      // No loadBalancer in the policy: Envoy Gateway v1.9.0's least_request.
      balance: 'least-request',
    });
    assert.equal(edgeSettings(await rendered('overlays/local')).annotations['proxy-read-timeout'], '3600');
    // Without the policy, a disabled request timeout means no idle timeout at all in Envoy Gateway.
    const withoutPolicy = staging.filter((o) => o.kind !== 'BackendTrafficPolicy');
    assert.throws(
      () => gatewayRouteSettings(withoutPolicy),
      (e: Error) => e instanceof ManifestError && /never closes an idle WebSocket/.test(e.message),
    );
    // The policy's loadBalancer.type as nginx plays it; a type nginx has no match for is refused.
    const withBalancer = (loadBalancer: Loose) =>
      staging.map((o) =>
        o.kind === 'BackendTrafficPolicy' ? { ...o, spec: { ...(o.spec as Loose), loadBalancer } } : o,
      );
    assert.equal(gatewayRouteSettings(withBalancer({ type: 'RoundRobin' })).nginx.balance, 'round-robin');
    assert.equal(gatewayRouteSettings(withBalancer({ type: 'Random' })).nginx.balance, 'random');
    assert.throws(
      () =>
        gatewayRouteSettings(withBalancer({ type: 'ConsistentHash', consistentHash: { type: 'SourceIP' } })),
      (e: Error) =>
        e instanceof ManifestError &&
        /loadBalancer\.type ConsistentHash: .* plays LeastRequest/.test(e.message),
    );
    assert.throws(() => gatewayRouteSettings(withBalancer({ type: 'constructor' })), ManifestError);
    assert.equal(durationSeconds('1m30s', 'x'), 90);
    assert.throws(() => durationSeconds('1 hour', 'x'), ManifestError);
  });
});
