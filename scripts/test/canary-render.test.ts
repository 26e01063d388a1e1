// The canary render (pipeline/src/kustomize/canary.ts) made from the repository's own renders: production
// as it runs plus overlays/production-canary with a new image. The stable Deployment stays exactly as it
// runs, the canary is the new render's Deployment beside it, and the union passes the same validation
// render-manifests runs on every render.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canaryRender } from '../../pipeline/src/kustomize/canary.js';
import { validateObjects, type K8sObject } from '../../pipeline/src/validate/index.js';
import { ctx, find, rendered } from './validate-fixtures.js';
import type { Loose } from './validate-fixtures.js';

const NEW = `sha256:${'b'.repeat(64)}`;

async function renders(): Promise<{ previous: K8sObject[]; next: K8sObject[]; old: string }> {
  const previous = await rendered('overlays/production');
  const old = find(previous, 'Deployment', 'switchboard').spec.template.spec.containers[0].image as string;
  const digest = old.split('@')[1]!;
  // The new release: the same overlay with another digest, as render-manifests pins it.
  const next = JSON.parse(
    JSON.stringify(await rendered('overlays/production-canary')).replaceAll(digest, NEW),
  ) as K8sObject[];
  return { previous, next, old };
}

const env = (o: Loose) =>
  Object.fromEntries(
    (o.spec.template.spec.containers[0].env as { name: string; value?: string }[]).map((e) => [
      e.name,
      e.value,
    ]),
  );

test('the stable Deployment runs on as it is; the canary is the new render beside it, 1 replica, track: canary', async () => {
  const { previous, next, old } = await renders();
  const objects = canaryRender(previous, next, { percent: 25, windowMs: 5000 }) as K8sObject[];
  assert.deepEqual(find(objects, 'Deployment', 'switchboard'), find(previous, 'Deployment', 'switchboard'));
  assert.match(old, /@sha256:/);
  const canary = find(objects, 'Deployment', 'switchboard-canary');
  assert.equal(canary.spec.replicas, 1);
  assert.equal(canary.spec.template.spec.containers[0].image, `ghcr.io/switchboard/server@${NEW}`);
  assert.equal(canary.spec.selector.matchLabels.track, 'canary');
  assert.equal(canary.spec.template.metadata.labels.track, 'canary');
  // Same Service: the canary's pods match its selector; not the stable pods' headless one.
  const service = find(objects, 'Service', 'switchboard');
  for (const [k, v] of Object.entries(service.spec.selector as Record<string, string>))
    assert.equal(canary.spec.template.metadata.labels[k], v);
  assert.equal(find(objects, 'Service', 'switchboard-stable').spec.selector.track, 'stable');
  const job = find(objects, 'Job', 'switchboard-canary-move');
  assert.equal(env(job).MOVE_PERCENT, '25');
  assert.equal(env(job).MOVE_WINDOW_MS, '5000');
  assert.equal(job.spec.template.spec.containers[0].image, `ghcr.io/switchboard/server@${NEW}`);
  assert.equal(objects.length, previous.length + 5);
  assert.deepEqual(await validateObjects(ctx(objects, 'overlays/production-canary')), []);
});

test('what it refuses: a bad share or window, no running release, a canary already there, no move Job', async () => {
  const { previous, next } = await renders();
  assert.throws(() => canaryRender(previous, next, { percent: 0, windowMs: 1 }), /canary-percent: 0 must be/);
  assert.throws(() => canaryRender(previous, next, { percent: 101, windowMs: 1 }), /canary-percent/);
  assert.throws(() => canaryRender(previous, next, { percent: 5, windowMs: 600_001 }), /canary-window-ms/);
  assert.throws(
    () =>
      canaryRender(
        previous.filter((o) => o.kind !== 'Deployment'),
        next,
        { percent: 5, windowMs: 1 },
      ),
    /previous render .* has no Deployment\/switchboard/,
  );
  const withCanary = canaryRender(previous, next, { percent: 5, windowMs: 1 });
  const plain = await rendered('overlays/production');
  assert.throws(
    () => canaryRender(withCanary, next, { percent: 5, windowMs: 1 }),
    /already has Deployment\/switchboard-canary/,
  );
  assert.throws(
    () => canaryRender(previous, plain, { percent: 5, windowMs: 1 }),
    /no Job\/switchboard-canary-move/,
  );
});
