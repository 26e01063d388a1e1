// A real Prometheus (Debian's binary) scrapes two real Switchboard processes joined by a real Redis
// while a known load runs; the generated recording rules must report what the load did.
//   connect:  CLIENTS accepted upgrades + REFUSED upgrades with a token signed by another key
//   joins:    every client joins PERMITTED topics it may join and one topic its token forbids
//   delivery: publications to room:lat, subscribed on both nodes; SLOW of them are published while
//             node B is stopped (SIGSTOP) and stays stopped FROZEN_MS after the last of them was
//             accepted, so B writes each at least FROZEN_MS late; the rest are prompt
// The broadcast API has no way to backdate a publication, so freezing the subscriber's node is the
// honest way to make deliveries late; the clients' own clocks confirm which ones were.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  signToken,
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
import { PhxClient, type Delivery } from './support/phx-client.js';

const CLIENTS_PER_NODE = 6;
const REFUSED_PER_NODE = 2;
const PERMITTED_JOINS = 2; // room:lat and room:c<i>, plus room:secret-<i> that the token does not permit
const PUSHES_PER_A_CLIENT = 5;
const PROMPT = 50;
const SLOW = 20;
const FROZEN_MS = 600;
const TOPIC = 'room:lat';

/** A publication of this test (not a presence diff, which is also a broadcast). */
const isPublication = (d: Delivery) => d.topic === TOPIC && (d.event === 'tick' || d.event === 'shout');

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

describe('generated SLIs on a real Prometheus scraping two real servers under load', () => {
  let redis: RedisServer;
  let a: SwitchboardProcess;
  let b: SwitchboardProcess;
  let prom: PrometheusServer;
  const clients: { node: 'a' | 'b'; client: PhxClient }[] = [];
  const sentAt = new Map<number, number>();
  let publications = 0;

  async function sli(slo: string): Promise<number> {
    const [sample, ...rest] = await prom.query(`slo:sli_error:ratio_rate5m{slo="${slo}"}`);
    assert.ok(sample, `no slo:sli_error:ratio_rate5m sample for ${slo}`);
    assert.equal(rest.length, 0);
    return sample.value;
  }

  async function apiPublish(n: number, topic = TOPIC): Promise<void> {
    const res = await fetch(`${a.httpUrl}/api/broadcast`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testSecrets.apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ topic, event: 'tick', payload: { n } }),
    });
    assert.equal(res.status, 202, await res.text());
  }

  before(async () => {
    redis = await startRedis();
    const env = {
      BROKER: 'redis',
      REDIS_URL: redis.url,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_SECOND: '1000',
      RATE_LIMIT_BURST: '1000',
    };
    a = await startSwitchboard({ ...env, NODE_ID: 'a' }, { readyTimeoutMs: 60_000 });
    b = await startSwitchboard({ ...env, NODE_ID: 'b' }, { readyTimeoutMs: 60_000 });
    prom = await startPrometheus({
      scrapeTargets: [`127.0.0.1:${a.metricsPort}`, `127.0.0.1:${b.metricsPort}`],
      ruleFiles: [join(repoRoot, 'slo/generated/rules.yaml')],
      scrapeIntervalMs: 1000,
    });
    const token = await signToken({ sub: 'load', join: [TOPIC, 'room:c*'], publish: ['room:*'] });
    const forged = await signToken({ sub: 'forged', join: ['room:*'] }, 'not-the-server-secret');
    const nodes = [
      ['a', a],
      ['b', b],
    ] as const;

    // prom-client exports a labelled counter from its first increment, and Prometheus cannot see
    // the increments before its first sample of a series. So every counter the SLIs read gets one
    // event and two scrapes before the load; the ratios below count the load only.
    for (const [, node] of nodes) {
      const warm = await PhxClient.connect(node.socketUrl, token);
      assert.ok(warm instanceof PhxClient);
      assert.equal(await warm.join('room:c-warm'), 'ok');
      assert.equal(await warm.join('room:secret-warm'), 'error');
      warm.close();
      assert.deepEqual(await PhxClient.connect(node.socketUrl, forged), { refused: 401 });
    }
    await apiPublish(-1, 'room:c-warm');
    await eventually('two scrapes of every SLI counter on both servers', async () => {
      const r = await prom.query('count_over_time(switchboard_joins_total{result="unauthorized"}[1m]) >= 2');
      return r.length === 2 ? true : undefined;
    });

    for (const [name, node] of nodes) {
      for (let i = 0; i < CLIENTS_PER_NODE; i++) {
        const c = await PhxClient.connect(node.socketUrl, token);
        assert.ok(c instanceof PhxClient, `client ${name}${i} was refused`);
        assert.equal(await c.join(TOPIC), 'ok');
        assert.equal(await c.join(`room:c${i}`), 'ok');
        assert.equal(await c.join(`room:secret-${i}`), 'error');
        clients.push({ node: name, client: c });
      }
      for (let i = 0; i < REFUSED_PER_NODE; i++) {
        assert.deepEqual(await PhxClient.connect(node.socketUrl, forged), { refused: 401 });
      }
    }

    // Prompt deliveries: client pushes from node A and API publications through node A.
    for (const { node, client } of clients) {
      if (node !== 'a') continue;
      for (let i = 0; i < PUSHES_PER_A_CLIENT; i++) {
        const n = publications++;
        sentAt.set(n, Date.now());
        assert.equal(await client.push(TOPIC, 'shout', { n }), 'ok');
      }
    }
    for (let i = 0; i < PROMPT; i++) {
      const n = publications++;
      sentAt.set(n, Date.now());
      await apiPublish(n);
      await sleep(10); // pacing: spread the prompt publications
    }
    // Late deliveries: node B is frozen while they are published; it writes them when it resumes.
    b.proc.child.kill('SIGSTOP');
    try {
      for (let i = 0; i < SLOW; i++) {
        const n = publications++;
        sentAt.set(n, Date.now());
        await apiPublish(n);
      }
      // Every slow publication was accepted (publishedAt set on A) before this point.
      await sleep(FROZEN_MS); // pacing: how long B stays frozen is the lateness injected
    } finally {
      b.proc.child.kill('SIGCONT');
    }
    await eventually('every client to receive every publication', async () =>
      clients.every(({ client }) => client.deliveries.filter(isPublication).length === publications)
        ? true
        : undefined,
    );
    // Every event is over: wait until Prometheus scraped it and evaluated the rules on it.
    await prom.evaluatedAfter(Date.now());
  });

  after(async () => {
    for (const { client } of clients) client.close();
    await prom?.stop();
    await Promise.all([a?.stop('SIGTERM', 5000), b?.stop('SIGTERM', 5000)]);
    await redis?.stop();
  });

  test('every generated rule evaluates without error on Prometheus', async () => {
    const data = await prom.api<{
      groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[];
    }>('rules');
    const rules = data.groups.flatMap((g) => g.rules);
    assert.ok(rules.length >= 40, `only ${rules.length} rules loaded`);
    const unhealthy = rules.filter((r) => r.health !== 'ok');
    assert.deepEqual(unhealthy, []);
  });

  test('connect SLI equals the share of refused upgrades', async (t) => {
    const refused = REFUSED_PER_NODE / (CLIENTS_PER_NODE + REFUSED_PER_NODE);
    const measured = await sli('ws-connect-success');
    t.diagnostic(`connect error ratio: injected ${refused}, Prometheus ${measured}`);
    assert.ok(Math.abs(measured - refused) < 0.02, `expected ~${refused}, got ${measured}`);
  });

  test('join SLI equals the share of joins the token forbids', async (t) => {
    const refused = 1 / (PERMITTED_JOINS + 1);
    const measured = await sli('join-success');
    t.diagnostic(`join error ratio: injected ${refused}, Prometheus ${measured}`);
    assert.ok(Math.abs(measured - refused) < 0.02, `expected ~${refused}, got ${measured}`);
  });

  test('latency SLI matches the late deliveries measured client-side', async (t) => {
    // The server observes each publication once per node that has subscribers: twice here.
    const late = (node: 'a' | 'b') => {
      const first = clients.find((c) => c.node === node)!.client;
      return first.deliveries.filter(
        (d) => isPublication(d) && d.receivedAt - sentAt.get((d.payload as { n: number }).n)! > 250,
      ).length;
    };
    // Bounds that hold however busy the machine is: the SLOW publications are late on B (B was
    // frozen FROZEN_MS > 250 ms after they were accepted), and whatever the server counts late is late
    // for every subscriber on that node too (a client's clock starts before the publish and stops
    // after the write). The share is over 2 observations per publication.
    const lateA = late('a');
    const lateB = late('b');
    assert.ok(lateB >= SLOW, `client-side, only ${lateB} of ${SLOW} deliveries on B were late`);
    const injected = SLOW / (2 * publications);
    const clientSide = (lateA + lateB) / (2 * publications);
    const server = await sli('delivery-latency');
    t.diagnostic(
      `late deliveries: ${SLOW} of ${publications} published while B was frozen; client-side late ` +
        `A ${lateA} B ${lateB}; injected ${injected}, client-side ${clientSide}, Prometheus ${server}`,
    );
    const slack = 0.02; // rate() extrapolates the two targets' series by slightly different factors
    assert.ok(
      server >= injected - slack,
      `server SLI ${server} misses injected late deliveries (${injected})`,
    );
    assert.ok(
      server <= clientSide + slack,
      `server SLI ${server} counts more late than clients saw (${clientSide})`,
    );
  });

  test('server-error SLI is zero, not missing, when nothing failed', async () => {
    assert.equal(await sli('server-errors'), 0);
  });

  test('the page alert fires for the objectives the load breaks, not for the others', async () => {
    const firing = await prom.query('ALERTS{alertname="SwitchboardErrorBudgetBurn",alertstate="firing"}');
    const pages = firing
      .filter((s) => s.labels.severity === 'page')
      .map((s) => s.labels.slo)
      .sort();
    assert.deepEqual(pages, ['delivery-latency', 'join-success', 'ws-connect-success']);
  });

  test('gate queries return one value each, on the right side of their limits', async (t) => {
    const gate = JSON.parse(readFileSync(join(repoRoot, 'slo/generated/gate.json'), 'utf8')) as GateFile;
    const values: Record<string, number> = {};
    for (const o of gate.objectives) {
      // One environment here: the scrape job stands for the environment's selector.
      const bind = (q: string) => q.replaceAll('$window', '5m').replaceAll('$selector', 'job="switchboard"');
      const result = await prom.query(bind(o.query));
      if (result.length === 0 && o.exercised !== undefined) {
        // Optional (recovery-success): nobody rejoined with recovery in this load, so no value --
        // which the gate reads as not exercised only when its exercised query says 0 events.
        const exercised = await prom.query(bind(o.exercised));
        assert.deepEqual(
          exercised.map((r) => r.value),
          [0],
          `${o.name}: no value, and its exercised query must read 0: ${JSON.stringify(exercised)}`,
        );
        continue;
      }
      assert.equal(result.length, 1, `${o.name}: ${JSON.stringify(result)}`);
      values[o.name] = result[0]!.value;
    }
    t.diagnostic(`gate values over 5m: ${JSON.stringify(values)}`);
    assert.ok(Math.abs(values['ws-connect-success']! - 0.75) < 0.02);
    assert.ok(Math.abs(values['join-success']! - 2 / 3) < 0.02);
    assert.ok(values['delivery-latency']! > 0.25, 'p99 must show the late deliveries');
    assert.equal(values['server-errors'], 0);
  });
});
