import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { listModels, REGISTRY_FILE, renderRegistry } from '../gen-model-registry.js';

it('models.generated.ts lists every kind of the installed model packages (npm run validate:models is up to date)', () => {
  const models = listModels();
  const keys = new Set(models.map(([key]) => key));
  for (const key of [
    'apps/v1/Deployment',
    'v1/Service',
    'networking.k8s.io/v1/Ingress',
    'argoproj.io/v1alpha1/Application',
    'argoproj.io/v1alpha1/ApplicationSet',
    'monitoring.coreos.com/v1/PrometheusRule',
    'external-secrets.io/v1/ExternalSecret',
  ]) {
    assert.ok(keys.has(key), `${key} missing from the model registry`);
  }
  assert.equal(keys.size, models.length, 'a kind is listed twice');
  assert.equal(
    readFileSync(REGISTRY_FILE, 'utf8'),
    renderRegistry(models),
    'stale: run `npm run validate:models`',
  );
});
