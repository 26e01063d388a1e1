// The stand-in's RollingUpdate (scripts/lib/rehearse/rolling-update.ts): the rendered strategy's bounds,
// and a roll of real server pods -- new pods ready before they serve, never fewer serving than the
// strategy allows, an old pod out of the endpoints before its SIGTERM, and every old pod gone.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import { onFreePorts } from '../../testkit/src/index.js';
import type { K8sObject } from '../../pipeline/src/validate/index.js';
import { startProcessReplica, type Replica } from '../lib/rehearse/replicas.js';
import { rollingStrategy, rollingUpdate } from '../lib/rehearse/rolling-update.js';
import { repoRoot } from './validate-fixtures.js';

const deployment = (strategy: unknown): K8sObject =>
  ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { strategy } }) as K8sObject;

describe('rollingStrategy', () => {
  test("the base Deployment's strategy: one pod more at a time, none unavailable", () => {
    const base = parse(readFileSync(join(repoRoot, 'base/server/deployment.yaml'), 'utf8')) as K8sObject;
    assert.deepEqual(rollingStrategy(base, 3), { maxSurge: 1, maxUnavailable: 0 });
    assert.deepEqual(rollingStrategy(base, 8), { maxSurge: 2, maxUnavailable: 0 });
  });

  test("Kubernetes' defaults and rounding, Recreate, and what the API server refuses", () => {
    assert.deepEqual(rollingStrategy(deployment(undefined), 4), { maxSurge: 1, maxUnavailable: 1 });
    assert.deepEqual(rollingStrategy(deployment(undefined), 3), { maxSurge: 1, maxUnavailable: 0 });
    assert.deepEqual(
      rollingStrategy(deployment({ rollingUpdate: { maxSurge: 2, maxUnavailable: '50%' } }), 3),
      {
        maxSurge: 2,
        maxUnavailable: 1,
      },
    );
    assert.deepEqual(rollingStrategy(deployment({ type: 'Recreate' }), 3), {
      maxSurge: 0,
      maxUnavailable: 3,
    });
    assert.throws(
      () => rollingStrategy(deployment({ rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } }), 3),
      /cannot both be 0/,
    );
    assert.throws(
      () => rollingStrategy(deployment({ rollingUpdate: { maxSurge: 'one' } }), 3),
      /maxSurge: "one" is neither a count nor a percentage/,
    );
  });
});

describe('rollingUpdate with real server pods', () => {
  const all: Replica[] = [];
  after(async () => {
    await Promise.all(all.map((p) => p.stop(2)));
  });
  let n = 0;
  const start = () =>
    onFreePorts(2, async ([port, metricsPort]) => {
      const name = `roll-${n++}`;
      const pod = await startProcessReplica(
        { LOG_LEVEL: 'warn', NODE_ID: name, DRAIN_WINDOW_MS: '500' },
        { name, port: port!, metricsPort: metricsPort!, readyTimeoutMs: 60_000 },
      );
      all.push(pod);
      return pod;
    });
  const ready = (p: Replica) =>
    fetch(`http://127.0.0.1:${p.metricsPort}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.ok,
      () => false,
    );

  test('maxSurge 1, maxUnavailable 0: each new pod ready first, each old one out of the endpoints before SIGTERM', async () => {
    const pods = [await start(), await start()];
    const old = pods.map((p) => p.name);
    const published: { serving: string[]; notReady: string[] }[] = [];
    const retired: Replica[] = [];
    const record = await rollingUpdate({
      pods,
      replicas: 2,
      strategy: { maxSurge: 1, maxUnavailable: 0 },
      startPod: async () => {
        const pod = await start();
        pods.push(pod);
        return pod;
      },
      // What the proxies are given: every pod in it must be serving at that moment.
      endpoints: async (serving) => {
        const states = await Promise.all(serving.map(ready));
        published.push({
          serving: serving.map((p) => p.name),
          notReady: serving.filter((_, i) => !states[i]).map((p) => p.name),
        });
      },
      graceSeconds: 10,
      retired,
      log: () => undefined,
    });
    assert.deepEqual(
      published.map((p) => p.notReady).flat(),
      [],
      `a pod not ready was in the endpoints: ${JSON.stringify(published)}`,
    );
    assert.ok(
      published.every((p) => p.serving.length >= 2 && p.serving.length <= 3),
      JSON.stringify(published),
    );
    assert.deepEqual(record.from, old);
    assert.equal(record.to.length, 2);
    assert.deepEqual(
      pods.map((p) => p.name),
      record.to,
    );
    assert.deepEqual(retired.map((p) => p.name).sort(), [...old].sort());
    // Gone: the old pods answer nothing; the new ones serve.
    assert.deepEqual(await Promise.all(retired.map(ready)), [false, false]);
    assert.deepEqual(await Promise.all(pods.map(ready)), [true, true]);
    const order = (re: RegExp) => record.events.findIndex((e) => re.test(e));
    for (const name of old) {
      const deleted = order(new RegExp(`${name} deleted: out of the endpoints`));
      const sigterm = order(new RegExp(`${name} SIGTERM`));
      assert.ok(deleted >= 0 && deleted < sigterm, record.events.join('\n'));
    }
    assert.match(record.events[0]!, /roll-2 ready: in the endpoints/);
  });
});
