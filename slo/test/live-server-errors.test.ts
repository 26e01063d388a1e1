// The server-errors objective on a real Prometheus, when real server errors happen. A real
// Switchboard on a real Redis answers POST /api/users/:sub/disconnect with 202; then Redis is killed
// and the same commands get 503 (the broker cannot carry them), a server error the objective counts.
// (POST /api/broadcast would not do: it answers 202 before the broker has the publication.) Beside
// each command go NOT_FOUND_PER_TICK requests to an unknown path (404, route "other"): API
// requests that count in the total but are the client's mistake, so the expected error ratio is
// 1 / (1 + NOT_FOUND_PER_TICK) and not simply "everything failed".
// live-sli.test.ts shows the same SLI at 0 when nothing fails; this file shows it can be anything else.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  startPrometheus,
  startRedis,
  startSwitchboard,
  testSecrets,
  type PrometheusServer,
  type RedisServer,
  type SwitchboardProcess,
} from '../../testkit/src/index.js';
import { repoRoot } from '../src/outputs/index.js';
import type { GateFile } from '../src/outputs/gate.js';

const NOT_FOUND_PER_TICK = 3;
const TICKS = 40;
const TICK_MS = 100;
const EXPECTED = 1 / (1 + NOT_FOUND_PER_TICK);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

describe('server-errors objective on a real Prometheus while the server fails requests', () => {
  let redis: RedisServer;
  let sb: SwitchboardProcess;
  let prom: PrometheusServer;
  const statuses = new Map<number, number>();

  async function disconnectUser(): Promise<number> {
    const res = await fetch(`${sb.httpUrl}/api/users/nobody/disconnect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testSecrets.apiToken}` },
    });
    await res.arrayBuffer();
    return res.status;
  }
  async function notFound(): Promise<number> {
    const res = await fetch(`${sb.httpUrl}/no-such-path`);
    await res.arrayBuffer();
    return res.status;
  }
  /** Two samples of a series in Prometheus, so that rate() sees the increments that follow. */
  async function twoScrapesOf(selector: string): Promise<void> {
    await eventually(`two scrapes of ${selector}`, async () => {
      const r = await prom.query(`count_over_time(${selector}[1m]) >= 2`);
      return r.length === 1 ? true : undefined;
    });
  }

  before(async () => {
    redis = await startRedis();
    sb = await startSwitchboard(
      { BROKER: 'redis', REDIS_URL: redis.url, NODE_ID: 'errors', LOG_LEVEL: 'error' },
      { readyTimeoutMs: 60_000 },
    );
    prom = await startPrometheus({
      scrapeTargets: [`127.0.0.1:${sb.metricsPort}`],
      ruleFiles: [join(repoRoot, 'slo/generated/rules.yaml')],
      scrapeIntervalMs: 500,
    });
    // Redis up: the command is accepted, so the 2xx series exists before the failures start.
    assert.equal(await disconnectUser(), 202);
    assert.equal(await notFound(), 404);
    await twoScrapesOf('switchboard_http_requests_total{route="control",status_class="2xx"}');
    await twoScrapesOf('switchboard_http_requests_total{route="other",status_class="4xx"}');

    await redis.kill();
    // The first 503 creates the 5xx series; Prometheus must sample it before the counted ones.
    await eventually('a command refused with 503 once Redis is gone', async () =>
      (await disconnectUser()) === 503 ? true : undefined,
    );
    await twoScrapesOf('switchboard_http_requests_total{route="control",status_class="5xx"}');

    for (let i = 0; i < TICKS; i++) {
      const answers = await Promise.all([
        disconnectUser(),
        ...Array.from({ length: NOT_FOUND_PER_TICK }, () => notFound()),
      ]);
      for (const s of answers) statuses.set(s, (statuses.get(s) ?? 0) + 1);
      await sleep(TICK_MS); // pacing: one tick of the failing load
    }
  });

  after(async () => {
    await prom?.stop();
    await sb?.stop('SIGTERM', 5000);
    await redis?.stop();
  });

  test('the load was what it meant to be: every command 503, every other request 404', () => {
    assert.deepEqual(
      [...statuses].sort(([x], [y]) => x - y),
      [
        [404, TICKS * NOT_FOUND_PER_TICK],
        [503, TICKS],
      ],
    );
  });

  test('the recorded SLI rises to the share of requests the server failed', async (t) => {
    // Waits for the rule evaluations that follow the last scrape of the load (bounded).
    const measured = await eventually(
      'slo:sli_error:ratio_rate5m near the injected ratio',
      async () => {
        const [sample] = await prom.query('slo:sli_error:ratio_rate5m{slo="server-errors"}');
        return sample && Math.abs(sample.value - EXPECTED) < 0.05 ? sample.value : undefined;
      },
      30_000,
    ).catch(async (err: Error) => {
      const [sample] = await prom.query('slo:sli_error:ratio_rate5m{slo="server-errors"}');
      throw new Error(`${err.message}: last value ${sample?.value ?? 'missing'}, expected ~${EXPECTED}`);
    });
    t.diagnostic(`server-errors SLI: injected ${EXPECTED}, Prometheus ${measured}`);
  });

  test("the gate's server-errors query reads the failures and breaks its limit", async (t) => {
    const gate = JSON.parse(readFileSync(join(repoRoot, 'slo/generated/gate.json'), 'utf8')) as GateFile;
    const objective = gate.objectives.find((o) => o.name === 'server-errors');
    assert.ok(objective, 'gate.json has the server-errors objective');
    assert.equal(objective.comparator, '<=');
    const query = objective.query.replaceAll('$window', '5m').replaceAll('$selector', 'job="switchboard"');
    const [sample, ...rest] = await prom.query(query);
    assert.ok(sample, `no value for ${query}`);
    assert.equal(rest.length, 0);
    t.diagnostic(`gate server-errors over 5m: ${sample.value} (limit ${objective.limit})`);
    assert.ok(Math.abs(sample.value - EXPECTED) < 0.05, `expected ~${EXPECTED}, got ${sample.value}`);
    assert.ok(sample.value > objective.limit, 'the gate would pass a server failing a quarter of requests');
  });
});
