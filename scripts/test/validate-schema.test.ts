// Schema validation and unknown fields: for built-in kinds (kubernetes-models), the CRD packages,
// and the k6 TestRun (ajv + the CRD's openAPIV3Schema).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ajv } from 'ajv';
import {
  findUnknownFields,
  formatPath,
  traceValidation,
  validateObjectSchema,
  validateSchemas,
  type K8sObject,
} from '../../pipeline/src/validate/index.js';
import { crdValidator } from '../../pipeline/src/validate/schema.js';
import { ctx, find, rendered, where } from './validate-fixtures.js';

describe('schema validation', () => {
  test('every object of every overlay, the load test and Argo CD matches its schema', async () => {
    for (const dir of ['overlays/production', 'overlays/preview', 'base/loadtest', 'argocd']) {
      assert.deepEqual(await validateSchemas(ctx(await rendered(dir), dir)), [], dir);
    }
  });

  test('a wrong type and a missing required field are schema errors naming the field', async () => {
    const objects = await rendered('overlays/production');
    const hpa = find(objects, 'HorizontalPodAutoscaler', 'switchboard');
    hpa.spec.maxReplicas = 'thirty';
    delete find(objects, 'Service', 'switchboard').spec.ports[0].port;
    const problems = await validateSchemas(ctx(objects));
    assert.deepEqual(problems.map((p) => `${p.check} ${p.object} ${p.field}`).sort(), [
      'schema HorizontalPodAutoscaler/switchboard spec.maxReplicas',
      'schema Service/switchboard spec.ports[0].port',
    ]);
  });

  test('misspelt and misplaced fields are reported, at any depth, for built-ins and CRD models', async () => {
    const objects = await rendered('overlays/production');
    const deploy = find(objects, 'Deployment', 'switchboard');
    deploy.spec.replcas = 3;
    deploy.spec.template.spec.containers[0].securityContext.runAsNonRot = true;
    deploy.spec.template.spec.containers[0].ports[0].protocl = 'TCP';
    find(objects, 'ServiceMonitor', 'switchboard').spec.endpoints[0].intervall = '15s';
    find(objects, 'ExternalSecret', 'switchboard-secrets').spec.refreshIntervall = '1h';
    const problems = (await validateSchemas(ctx(objects))).filter((p) => p.check === 'unknown-field');
    assert.deepEqual(where(problems).sort(), [
      'Deployment/switchboard spec.replcas',
      'Deployment/switchboard spec.template.spec.containers[0].ports[0].protocl',
      'Deployment/switchboard spec.template.spec.containers[0].securityContext.runAsNonRot',
      'ExternalSecret/switchboard-secrets spec.refreshIntervall',
      'ServiceMonitor/switchboard spec.endpoints[0].intervall',
    ]);
    assert.ok(problems.every((p) => /API server would drop it/.test(p.message)));
  });

  test('maps (labels, commonLabels) are not unknown fields', async () => {
    const objects = await rendered('argocd');
    const app = find(objects, 'Application', 'switchboard-dev');
    app.spec.source.kustomize = { commonLabels: { 'any-key': 'v' } };
    app.metadata.labels = { 'x.example/anything': 'y' };
    assert.deepEqual(await validateSchemas(ctx(objects, 'argocd', false)), []);
  });

  test('Argo CD objects: unknown fields in Application specs', async () => {
    const objects = await rendered('argocd');
    find(objects, 'Application', 'switchboard-production').spec.syncPolicy.automated.selfHeel = true;
    const problems = await validateSchemas(ctx(objects, 'argocd', false));
    assert.deepEqual(where(problems), [
      'Application/switchboard-production spec.syncPolicy.automated.selfHeel',
    ]);
  });

  test('k6 TestRun: schema errors and unknown fields from the CRD', async () => {
    const objects = await rendered('base/loadtest');
    const run = find(objects, 'TestRun', 'switchboard-fanout');
    run.spec.parallelism = '5';
    run.spec.runner.resorces = {};
    run.spec.runner.env[0].valeu = 'x';
    const problems = await validateObjectSchema(ctx(objects, 'base/loadtest'), run);
    assert.deepEqual(
      problems.map((p) => `${p.check} ${p.field}`),
      [
        'schema spec.parallelism',
        'unknown-field spec.runner.env[0].valeu',
        'unknown-field spec.runner.resorces',
      ],
    );
  });

  test('an apiVersion/kind with no schema is a problem that says how to fix it', async () => {
    const obj = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } } as K8sObject;
    const [p] = await validateObjectSchema(ctx([obj]), obj);
    assert.equal(p?.field, 'apiVersion');
    assert.match(p?.message ?? '', /no schema known for example.com\/v1\/Widget/);
  });

  test('tracing a compiled validator finds the same unknown fields as walking the JSON schema', async () => {
    const objects = await rendered('base/loadtest');
    const run = find(objects, 'TestRun', 'switchboard-fanout');
    run.spec.runner.metadata.labelz = {};
    run.spec.starter.containerSecurityContext.capabilities.dorp = ['ALL'];
    run.spec.script.configMap.fiel = 'x';
    run.spec.cleanupp = 'post';
    const crd = crdValidator('k6.io/v1alpha1/TestRun');
    assert.ok(crd);
    const walked = findUnknownFields(crd.schema, run).map(formatPath).sort();
    const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
    const compiled = ajv.compile(crd.schema);
    const traced = traceValidation(run, (data) => compiled(data))
      .unknown.map(formatPath)
      .sort();
    assert.deepEqual(walked, [
      'spec.cleanupp',
      'spec.runner.metadata.labelz',
      'spec.script.configMap.fiel',
      'spec.starter.containerSecurityContext.capabilities.dorp',
    ]);
    assert.deepEqual(traced, walked);
  });
});
