/**
 * Smoke test of the committed k6 bundles: each is imported with its `k6/*` modules replaced by
 * stand-ins (no k6 binary can be installed here), reads its config from __ENV, exports the options
 * k6 would read, runs VU iterations against a real server and returns k6 handleSummary outputs.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signToken, startSwitchboard, type SwitchboardProcess } from '../../testkit/src/index.js';
import { summaryTrendStats } from '../lib/scenario.js';
import type { LoadSummary } from '../lib/summary.js';
import { thresholds } from '../lib/thresholds.generated.js';
import { scenarios } from '../scenarios/index.js';
import { defaultOutDir } from '../src/bundle.js';
import { endOfTestData, importK6Bundle } from './support/k6-shim.js';

let server: SwitchboardProcess;
before(async () => {
  server = await startSwitchboard({ LOG_LEVEL: 'warn' });
});
after(async () => {
  await server?.stop('SIGTERM', 10_000);
});

describe('k6 bundles run their VU logic', { timeout: 120_000 }, () => {
  for (const name of ['connect-storm', 'fanout', 'presence-churn', 'rollout', 'soak']) {
    it(`${name}.js: options from __ENV, two VUs against a real server, handleSummary outputs`, async () => {
      const token = await signToken({ sub: `k6-${name}`, join: ['room:*'], publish: ['room:*'] });
      const mod = await importK6Bundle(join(defaultOutDir, `${name}.js`), {
        URL: server.socketUrl,
        TOKEN: token,
        VUS: '2',
        DURATION: '2500ms',
        ROOMS: '1',
        SESSION: '0s',
        PUBLISH_INTERVAL: '100ms',
        DRAIN: '500ms',
        HOLD: '200ms',
        SUMMARY_PATH: `out/${name}.json`,
      });
      assert.deepEqual(mod.options.scenarios, {
        [name]: {
          executor: 'constant-vus',
          vus: 2,
          duration: '2500ms',
          gracefulStop: name === 'soak' || name === 'rollout' ? '30s' : '10s',
        },
      });
      // The SLO thresholds of the metrics the scenario measures, all of them (an empty object, the
      // old loop's blind spot, fails here).
      const expected = Object.fromEntries(
        (scenarios[name]?.sloMetrics ?? [])
          .filter((m) => (thresholds[m]?.length ?? 0) > 0)
          .map((m) => [m, thresholds[m]]),
      );
      assert.ok(Object.keys(expected).length >= 3, `${name} measures SLO metrics with thresholds`);
      assert.deepEqual(mod.options.thresholds, expected);
      assert.deepEqual(mod.options.summaryTrendStats, summaryTrendStats);

      const shim = globalThis.__k6shim;
      assert.ok(shim);
      shim.scenario.startTime = Date.now();
      const runs: Promise<void>[] = [];
      for (const vu of [1, 2]) {
        shim.vu.idInTest = vu; // read synchronously when the iteration starts, as k6 sets it per VU
        runs.push(mod.default());
      }
      await Promise.all(runs);

      const out = mod.handleSummary(endOfTestData(Date.now() - shim.scenario.startTime, summaryTrendStats));
      assert.deepEqual(Object.keys(out).sort(), [`out/${name}.json`, 'stdout']);
      assert.match(out.stdout ?? '', new RegExp(`scenario ${name} \\(k6\\)`));
      const s = JSON.parse(out[`out/${name}.json`] ?? '') as LoadSummary;
      assert.equal(s.engine, 'k6');
      assert.equal(s.scenario, name);
      assert.equal(s.metrics.ws_connect_success?.values.passes, 2);
      assert.equal(s.metrics.phx_join_success?.values.fails, 0);
      assert.ok((s.metrics.phx_join_success?.values.passes ?? 0) >= 2);
      if (name === 'fanout' || name === 'soak') {
        assert.ok((s.metrics.phx_delivery_latency?.values.count ?? 0) > 0, 'deliveries were timed');
      }
      if (name === 'presence-churn')
        assert.ok((s.metrics.phx_presence_sync_duration?.values.count ?? 0) >= 2);
    });
  }
});
