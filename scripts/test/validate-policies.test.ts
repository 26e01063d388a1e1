// One test per review policy: the production render is clean, and breaking one thing in it makes
// exactly that policy name the object and the field.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  gracePeriodPolicy,
  imagesPolicy,
  networkPoliciesPolicy,
  opsPortPolicy,
  pdbPolicy,
  policies,
  probesPolicy,
  redisAuthPolicy,
  referencesPolicy,
  resourcesPolicy,
  securityContextPolicy,
  serviceSelectorsPolicy,
  targetsPolicy,
  type K8sObject,
} from '../../pipeline/src/validate/index.js';
import { container, ctx, find, rendered, where } from './validate-fixtures.js';
import type { Loose } from './validate-fixtures.js';

const prod = () => rendered('overlays/production');

describe('review policies', () => {
  test('the production render passes every policy', async () => {
    const objects = await prod();
    for (const policy of policies) assert.deepEqual(policy.check(ctx(objects)), [], policy.name);
  });

  test('resources: a container without a CPU request or memory limit', async () => {
    const objects = await prod();
    const server = container(find(objects, 'Deployment', 'switchboard'), 'server');
    delete server.resources.requests.cpu;
    delete server.resources.limits;
    assert.deepEqual(where(resourcesPolicy.check(ctx(objects))), [
      'Deployment/switchboard spec.template.spec.containers[server].resources.requests.cpu',
      'Deployment/switchboard spec.template.spec.containers[server].resources.limits.memory',
    ]);
  });

  test('resources: k6 runners are containers too', async () => {
    const objects = [...(await prod()), ...(await rendered('base/loadtest'))];
    delete find(objects, 'TestRun', 'switchboard-fanout').spec.runner.resources;
    const found = where(resourcesPolicy.check(ctx(objects)));
    assert.ok(
      found.includes('TestRun/switchboard-fanout spec.runner.resources.requests.memory'),
      found.join('\n'),
    );
  });

  test('probes: a long-running container without readiness or liveness probe', async () => {
    const objects = await prod();
    delete container(find(objects, 'StatefulSet', 'postgres'), 'postgres').readinessProbe;
    delete container(find(objects, 'Deployment', 'jaeger'), 'jaeger').livenessProbe;
    assert.deepEqual(where(probesPolicy.check(ctx(objects))), [
      'Deployment/jaeger spec.template.spec.containers[jaeger].livenessProbe',
      'StatefulSet/postgres spec.template.spec.containers[postgres].readinessProbe',
    ]);
  });

  test('security-context: root, writable root filesystem, capabilities kept, no seccomp', async () => {
    const objects = await prod();
    const sts = find(objects, 'StatefulSet', 'redis-cluster');
    const redis = container(sts, 'redis');
    redis.securityContext.readOnlyRootFilesystem = false;
    redis.securityContext.capabilities = { add: ['NET_ADMIN'] };
    delete redis.securityContext.runAsNonRoot;
    delete sts.spec.template.spec.securityContext.runAsNonRoot;
    delete redis.securityContext.seccompProfile;
    delete sts.spec.template.spec.securityContext.seccompProfile;
    const prefix = 'StatefulSet/redis-cluster spec.template.spec.containers[redis].securityContext.';
    assert.deepEqual(
      where(securityContextPolicy.check(ctx(objects))),
      [
        'runAsNonRoot',
        'readOnlyRootFilesystem',
        'capabilities.drop',
        'capabilities.add',
        'seccompProfile.type',
      ].map((f) => prefix + f),
    );
  });

  test('images: staging and production demand digests; every target refuses :latest', async () => {
    const objects = await prod();
    container(find(objects, 'Deployment', 'switchboard'), 'server').image =
      'ghcr.io/switchboard/server:1.2.3';
    container(find(objects, 'Deployment', 'jaeger'), 'jaeger').image = 'jaegertracing/all-in-one:latest';
    assert.deepEqual(where(imagesPolicy.check(ctx(objects))), [
      'Deployment/jaeger spec.template.spec.containers[jaeger].image',
      'Deployment/jaeger spec.template.spec.containers[jaeger].image',
      'Deployment/switchboard spec.template.spec.containers[server].image',
    ]);
    const dev = imagesPolicy.check(ctx(objects, 'overlays/dev', false));
    assert.deepEqual(where(dev), ['Deployment/jaeger spec.template.spec.containers[jaeger].image']);
    assert.match(dev[0]?.message ?? '', /no version/);
  });

  test('images: the data store exporters run by tag only because their workloads list them as digest-unverified; nothing else does', async () => {
    const objects = await prod();
    const exporters = [
      ['StatefulSet', 'postgres', 'quay.io/prometheuscommunity/postgres-exporter:v0.11.1'],
      ['StatefulSet', 'redis-cluster', 'docker.io/oliver006/redis_exporter:v1.45.0'],
    ] as const;
    for (const [kind, name, image] of exporters) {
      assert.equal(container(find(objects, kind, name), 'exporter').image, image);
    }
    assert.deepEqual(imagesPolicy.check(ctx(objects)), []);
    // The list exempts exactly the image it names: the store's own image, or another tag, is still caught.
    const postgres = find(objects, 'StatefulSet', 'postgres');
    container(postgres, 'postgres').image = 'postgres:16-alpine';
    container(find(objects, 'StatefulSet', 'redis-cluster'), 'exporter').image =
      'docker.io/oliver006/redis_exporter:v1.46.0';
    assert.deepEqual(where(imagesPolicy.check(ctx(objects))), [
      // The cluster's list now names an image none of its containers runs.
      'StatefulSet/redis-cluster metadata.annotations[switchboard.dev/digest-unverified]',
      'StatefulSet/postgres spec.template.spec.containers[postgres].image',
      'StatefulSet/redis-cluster spec.template.spec.containers[exporter].image',
    ]);
    // Without the annotation, the exporter needs a digest like every other image.
    const again = await prod();
    delete find(again, 'StatefulSet', 'postgres').metadata.annotations;
    assert.deepEqual(where(imagesPolicy.check(ctx(again))), [
      'StatefulSet/postgres spec.template.spec.containers[exporter].image',
    ]);
  });

  test('network-policies: a pod no policy selects, no default deny, a dangling peer, an open rule', async () => {
    let objects = await prod();
    objects = objects.filter(
      (o) => !(o.kind === 'NetworkPolicy' && ['jaeger', 'default-deny'].includes(o.metadata.name)),
    );
    find(objects, 'NetworkPolicy', 'postgres').spec.ingress[0].from[0].podSelector.matchLabels[
      'app.kubernetes.io/name'
    ] = 'switchbaord';
    delete find(objects, 'NetworkPolicy', 'redis-cluster').spec.egress[0].ports;
    assert.deepEqual(where(networkPoliciesPolicy.check(ctx(objects))), [
      'NetworkPolicy/(default-deny) spec',
      'Deployment/jaeger spec.template.metadata.labels',
      'NetworkPolicy/postgres spec.ingress[0].from[0].podSelector',
      'NetworkPolicy/redis-cluster spec.egress[0].ports',
    ]);
  });

  test('pod-disruption-budget: an HPA-scaled Deployment without a PDB, and a PDB that blocks drains', async () => {
    let objects = await prod();
    objects = objects.filter((o) => !(o.kind === 'PodDisruptionBudget' && o.metadata.name === 'switchboard'));
    find(objects, 'PodDisruptionBudget', 'redis-cluster').spec.maxUnavailable = 0;
    const found = pdbPolicy.check(ctx(objects));
    assert.deepEqual(where(found), [
      'Deployment/switchboard spec.template.metadata.labels',
      'PodDisruptionBudget/redis-cluster spec.maxUnavailable',
    ]);
    assert.match(found[0]?.message ?? '', /up to 30 replicas/);
  });

  test('service-selectors: a selector that matches nothing, a target port no container has', async () => {
    const objects = await prod();
    find(objects, 'Service', 'postgres').spec.selector['app.kubernetes.io/name'] = 'postgresql';
    find(objects, 'Service', 'jaeger').spec.ports[1].targetPort = 'otlp-htp';
    assert.deepEqual(where(serviceSelectorsPolicy.check(ctx(objects))), [
      'Service/jaeger spec.ports[1].targetPort',
      'Service/postgres spec.selector',
    ]);
  });

  test('references: a missing Secret, a missing ConfigMap key, a TLS secret nobody creates', async () => {
    const objects = await prod();
    const server = container(find(objects, 'Deployment', 'switchboard'), 'server');
    server.env.find((e: { name: string }) => e.name === 'JWT_SECRET').valueFrom.secretKeyRef.name =
      'switchboard-secret';
    const migrate = container(
      { spec: { template: find(objects, 'Job', 'switchboard-migrate').spec.template } },
      'migrate',
    );
    migrate.env.find((e: { name: string }) => e.name === 'LOG_LEVEL').valueFrom.configMapKeyRef.key =
      'LOGLEVEL';
    // Optional references may be absent: Kubernetes starts the pod without them.
    server.env.push({
      name: 'EXTRA',
      valueFrom: { secretKeyRef: { name: 'absent', key: 'x', optional: true } },
    });
    // Production's edge is the Gateway route (TLS at the Gateway); the ingress-nginx component's
    // Ingress with a TLS section and no cert-manager annotation.
    const ingress = structuredClone(find(await rendered('overlays/preview'), 'Ingress', 'switchboard'));
    ingress.metadata.namespace = 'switchboard-production';
    ingress.spec.tls = [{ hosts: ['switchboard.example.com'], secretName: 'switchboard-tls' }];
    objects.push(ingress);
    assert.deepEqual(where(referencesPolicy.check(ctx(objects))), [
      'Deployment/switchboard spec.template.spec.containers[server].env[JWT_SECRET].valueFrom.secretKeyRef',
      'Job/switchboard-migrate spec.template.spec.containers[migrate].env[LOG_LEVEL].valueFrom.configMapKeyRef',
      'Ingress/switchboard spec.tls[0].secretName',
    ]);
  });

  test('references: a Service a pod is configured to call must exist, with that port', async () => {
    const objects = await prod();
    const config = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('switchboard-config'),
    );
    const data = (config as Record<string, Loose>).data;
    data.OTEL_EXPORTER_OTLP_ENDPOINT = 'http://jaeger-collector:4318';
    data.REDIS_CLUSTER_NODES = data.REDIS_CLUSTER_NODES.replace(
      'redis-cluster-5.redis-cluster:6379',
      'redis-cluster-5.redis:6379',
    );
    const server = container(find(objects, 'Deployment', 'switchboard'), 'server');
    server.env.find((e: { name: string }) => e.name === 'DATABASE_URL').value =
      'postgres://switchboard:$(POSTGRES_PASSWORD)@postgres:5433/switchboard';
    const found = referencesPolicy.check(ctx(objects));
    assert.deepEqual(
      found.map((p) => `${p.object} ${p.field}: ${p.message}`),
      [
        'Deployment/switchboard spec.template.spec.containers[server].env[DATABASE_URL].value: "postgres:5433": Service postgres has no port 5433',
        `${config?.kind}/${config?.metadata.name} data.OTEL_EXPORTER_OTLP_ENDPOINT: "jaeger-collector" names no Service in this render`,
        `${config?.kind}/${config?.metadata.name} data.REDIS_CLUSTER_NODES: "redis-cluster-5.redis" names no Service in this render (a StatefulSet pod name is followed by its headless Service)`,
      ],
    );
  });

  test('targets: HPA, Ingress backend port, ServiceMonitor port and StatefulSet service that do not exist', async () => {
    const objects = await prod();
    find(objects, 'HorizontalPodAutoscaler', 'switchboard').spec.scaleTargetRef.name = 'switchbord';
    const ingress = structuredClone(find(await rendered('overlays/preview'), 'Ingress', 'switchboard'));
    ingress.spec.rules[0].http.paths[0].backend.service.port = { name: 'web' };
    objects.push(ingress);
    find(objects, 'ServiceMonitor', 'switchboard').spec.endpoints[0].port = 'prometheus';
    find(objects, 'Service', 'postgres').spec.clusterIP = undefined;
    assert.deepEqual(where(targetsPolicy.check(ctx(objects))), [
      'HorizontalPodAutoscaler/switchboard spec.scaleTargetRef',
      'Ingress/switchboard spec.rules[0].http.paths[0].backend.service.port',
      'ServiceMonitor/switchboard spec.endpoints[0].port',
      'StatefulSet/postgres spec.serviceName',
    ]);
  });

  test('targets: a PodMonitor that selects no pod, and one whose port a selected pod lacks', async () => {
    const objects = await prod();
    assert.deepEqual(
      objects.filter((o) => o.kind === 'PodMonitor').map((o) => o.metadata.name),
      ['postgres', 'redis'],
    );
    find(objects, 'PodMonitor', 'postgres').spec.selector.matchLabels['app.kubernetes.io/name'] =
      'postgresql';
    const redis = container(find(objects, 'StatefulSet', 'redis-cluster'), 'exporter');
    redis.ports[0].name = 'exporter';
    const found = targetsPolicy.check(ctx(objects));
    assert.deepEqual(where(found), [
      'PodMonitor/postgres spec.selector',
      'PodMonitor/redis spec.podMetricsEndpoints[0].port',
    ]);
    assert.match(found[1]!.message, /no container port named "metrics" in StatefulSet\/redis-cluster/);
  });

  test('ops-port: METRICS_PORT undeclared, probes on the public port, an Ingress routing to metrics', async () => {
    assert.deepEqual(opsPortPolicy.check(ctx(await prod())), []);
    const objects = await prod();
    const server = container(find(objects, 'Deployment', 'switchboard'), 'server');
    server.readinessProbe.httpGet.port = 'http';
    // Production's edge is the Gateway route (gateway-routes checks it); the ingress-nginx component's
    // Ingress, routed to the metrics port.
    const ingress = structuredClone(find(await rendered('overlays/preview'), 'Ingress', 'switchboard'));
    ingress.spec.rules[0].http.paths[1].backend.service.port = { name: 'metrics' };
    objects.push(ingress);
    const config = objects.find(
      (o: K8sObject) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('switchboard-config'),
    );
    (config as Record<string, Loose>).data.METRICS_PORT = '9100';
    const found = opsPortPolicy.check(ctx(objects));
    assert.deepEqual(where(found), [
      'Deployment/switchboard spec.template.spec.containers[0].ports',
      'Deployment/switchboard spec.template.spec.containers[0].readinessProbe.httpGet.port',
      'Ingress/switchboard spec.rules[0].http.paths[1].backend.service.port',
    ]);
    assert.match(
      found[0]!.message,
      /declare METRICS_PORT 9100 as a containerPort named metrics \(found 9464\)/,
    );
  });

  test('grace-period: shorter than preStop + drain, directly or through a longer DRAIN_WINDOW_MS', async () => {
    const objects = await prod();
    find(objects, 'Deployment', 'switchboard').spec.template.spec.terminationGracePeriodSeconds = 40;
    const short = gracePeriodPolicy.check(ctx(objects));
    assert.deepEqual(where(short), [
      'Deployment/switchboard spec.template.spec.terminationGracePeriodSeconds',
    ]);
    assert.match(short[0]?.message ?? '', /40 s must exceed preStop 10 s \+ DRAIN_WINDOW_MS 30 s = 40 s/);

    const again = await prod();
    const config = again.find(
      (o: K8sObject) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('switchboard-config'),
    );
    (config as Record<string, Loose>).data.DRAIN_WINDOW_MS = '55000';
    assert.match(gracePeriodPolicy.check(ctx(again))[0]?.message ?? '', /DRAIN_WINDOW_MS 55 s/);
  });

  test('redis-auth: a redis-server without requirepass or masterauth, a literal password, redis-cli and the server without credentials', async () => {
    for (const overlay of ['overlays/production', 'overlays/local']) {
      assert.deepEqual(redisAuthPolicy.check(ctx(await rendered(overlay))), [], overlay);
    }
    const objects = await prod();
    const redis = container(find(objects, 'StatefulSet', 'redis-cluster'), 'redis');
    const at = redis.command.indexOf('--masterauth');
    redis.command.splice(at, 2);
    redis.env = redis.env.filter((e: Loose) => e.name !== 'REDISCLI_AUTH');
    const job = container(find(objects, 'Job', 'redis-cluster-create'), 'create');
    job.env = job.env.filter((e: Loose) => e.name !== 'REDISCLI_AUTH');
    const server = container(find(objects, 'Deployment', 'switchboard'), 'server');
    server.env = server.env.filter((e: Loose) => e.name !== 'REDIS_PASSWORD');
    const problems = redisAuthPolicy.check(ctx(objects));
    assert.deepEqual(where(problems), [
      'Deployment/switchboard spec.template.spec.containers[server].env',
      'StatefulSet/redis-cluster spec.template.spec.containers[redis].command',
      'StatefulSet/redis-cluster spec.template.spec.containers[redis].env',
      'Job/redis-cluster-create spec.template.spec.containers[create].env',
    ]);
    assert.match(problems[1]!.message, /without masterauth/);

    const local = await rendered('overlays/local');
    const standalone = container(find(local, 'StatefulSet', 'redis'), 'redis');
    const literal = standalone.command.indexOf('--requirepass');
    standalone.command[literal + 1] = 'hunter2';
    assert.match(redisAuthPolicy.check(ctx(local))[0]?.message ?? '', /never a literal/);
    standalone.command.splice(literal, 2);
    assert.match(
      redisAuthPolicy.check(ctx(local))[0]?.message ?? '',
      /^redis-server without authentication: add --requirepass/,
    );
  });

  test('no policy throws on malformed objects; they are reported, not crashed on', () => {
    const junk = [
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'a' }, spec: { template: 'x' } },
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'b' },
        spec: { template: { spec: { containers: [{}] } } },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'c' },
        spec: { selector: { a: 'b' }, ports: 'x' },
      },
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'd' },
        spec: { ingress: [{}] },
      },
      { apiVersion: 'k6.io/v1alpha1', kind: 'TestRun', metadata: { name: 'e' }, spec: null },
    ] as unknown as K8sObject[];
    for (const policy of policies) assert.doesNotThrow(() => policy.check(ctx(junk)), policy.name);
  });
});
