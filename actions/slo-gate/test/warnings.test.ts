// Prometheus `warnings` make the gate inconclusive (issue 13 item 11): a real Prometheus whose
// remote_read store refuses answers with its local data plus a warning -- a partial result.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { refusedPort, startPrometheus, type PrometheusServer } from '../../../testkit/src/index.js';
import { isPrometheusError, PrometheusClient } from '../../../pipeline/src/prometheus/index.js';
import { runAction } from '../../../pipeline/src/testing/index.js';
import { evaluateObjective } from '../src/evaluate.js';
import { run } from '../src/main.js';
import { GatePrometheusClient, warningsError } from '../src/warnings.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'slo-gate-warnings-'));
// Passes on any whole answer: only the warnings can keep it from passing.
const objective = {
  name: 'always-met',
  description: 'a query that meets its limit whatever the data',
  query: 'count(up) or vector(0)',
  comparator: '>=' as const,
  limit: 0,
  unit: 'ratio',
};

// The environment judged; the query has no $selector, so any environment sees the same answer.
const selector = 'namespace="switchboard-staging"';

let prometheus: PrometheusServer;

before(async () => {
  const refused = await refusedPort(); // nothing listens there
  prometheus = await startPrometheus({
    scrapeTargets: [],
    remoteReadUrls: [`http://127.0.0.1:${refused}/api/v1/read`],
  });
});

after(async () => {
  await prometheus?.stop();
});

describe('slo-gate and Prometheus warnings', () => {
  it('Prometheus returns a value with a warning when a store is unreachable; the plain client would pass it', async () => {
    const plain = new PrometheusClient({ url: prometheus.url });
    const answer = await plain.query(objective.query);
    assert.deepEqual(
      answer.samples.map((s) => s.value),
      [0],
    );
    assert.match(answer.warnings[0] ?? '', /remote_read/);
    assert.equal((await evaluateObjective(plain, objective, '1m', selector)).verdict, 'pass');
  });

  it('the gate client turns an answer with warnings into an inconclusive objective naming them', async () => {
    const client = new GatePrometheusClient({ url: prometheus.url });
    await assert.rejects(client.query(objective.query), (e) => isPrometheusError(e, 'PROMETHEUS_WARNINGS'));
    const result = await evaluateObjective(client, objective, '1m', selector);
    assert.equal(result.verdict, 'inconclusive');
    assert.match(
      result.reason,
      /^Prometheus answered with warnings, so the value may be partial: remote_read: /,
    );
  });

  it('the action judges with the gate client: the step fails as inconclusive', async () => {
    const file = join(tmp, 'gate.json');
    writeFileSync(file, JSON.stringify({ version: 1, objectives: [objective] }));
    const result = await runAction(run, {
      inputs: { 'prometheus-url': prometheus.url, 'gate-file': file, window: '1m', selector },
      env: { GITHUB_WORKSPACE: repo },
    });
    assert.equal(result.failed, true);
    assert.equal(result.outputs.verdict, 'inconclusive');
    assert.match(result.errors[0] ?? '', /always-met inconclusive \(Prometheus answered with warnings/);
  });

  it('a flood of long warnings gives a bounded reason', () => {
    const message = warningsError(Array.from({ length: 10 }, () => 'w'.repeat(100_000))).message;
    assert.ok(message.length < 1_200, `${message.length} characters`);
    assert.match(message, /\(and 7 more\)$/);
  });
});
