// The data stores' alerts and dashboards (slo/src/datastores.ts) against the real exporters: Debian's
// prometheus-postgres-exporter and prometheus-redis-exporter -- the versions the manifests pin as
// images -- read a real PostgreSQL (with base/postgres/exporter-queries.yaml), a real standalone Redis
// and a real six-node Redis Cluster (three masters, three replicas), all password-protected with a
// password full of URL metacharacters, and a real Prometheus scrapes them with the labels the
// PodMonitors give (job = the pod's app.kubernetes.io/name, namespace, pod). Every metric name and
// label the generated rules and dashboards use must be in what Prometheus stored; the alerts' ratios
// must evaluate on the real series; and a Redis or PostgreSQL that dies must make its alert pending.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { parse, parseAllDocuments } from 'yaml';
import {
  debianExporterVersion,
  startPostgres,
  startPostgresExporter,
  startPrometheus,
  startRedis,
  startRedisClusterNodes,
  startRedisExporter,
  type ExporterProcess,
  type PostgresServer,
  type PrometheusServer,
  type RedisClusterNodes,
  type RedisServer,
} from '../../testkit/src/index.js';
import {
  datastoreGroupName,
  kubeletMetrics,
  postgresDashboardUid,
  redisDashboardUid,
} from '../src/datastores.js';
import { repoRoot } from '../src/outputs/index.js';
import { metricNames, selectors } from '../src/promql.js';

/**
 * URL metacharacters, quotes and a backslash: a password only a variable of its own carries intact.
 * No space: postgres_exporter 0.11.1 refuses a DATA_SOURCE_PASS with a space (a test below shows it).
 */
const PASSWORD = `p@ss:w/rd%40?#&="x'y\\z`;
const NAMESPACE = 'switchboard-test';
/** Labels Prometheus (target labels) or the PodMonitor relabelling add; not the exporters'. */
const targetLabels = new Set(['namespace', 'pod', 'job', 'instance', 'container', 'endpoint']);

interface Expression {
  where: string;
  expr: string;
}

/** The expressions of the data stores' alerts and dashboards, as generated and committed. */
function datastoreExpressions(): Expression[] {
  const out: Expression[] = [];
  const rules = parse(readFileSync(join(repoRoot, 'slo/generated/rules.yaml'), 'utf8')) as {
    groups: { name: string; rules: { alert?: string; expr: string }[] }[];
  };
  const group = rules.groups.find((g) => g.name === datastoreGroupName);
  assert.ok(group, `slo/generated/rules.yaml has no group ${datastoreGroupName}`);
  for (const r of group.rules) out.push({ where: `alert ${r.alert}`, expr: r.expr });
  for (const uid of [postgresDashboardUid, redisDashboardUid]) {
    const d = JSON.parse(readFileSync(join(repoRoot, `slo/generated/dashboards/${uid}.json`), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    for (const p of d.panels)
      for (const t of p.targets) out.push({ where: `${uid} "${p.title}"`, expr: t.expr });
  }
  return out;
}

interface ExporterContainer {
  image: string;
  readinessProbe: { httpGet: { path: string } };
  livenessProbe: { httpGet: { path: string } };
}

/** Container `exporter` of the StatefulSet in a manifest file. */
function exporterContainer(file: string): ExporterContainer {
  const sts = parseAllDocuments(readFileSync(join(repoRoot, file), 'utf8'))
    .map(
      (d) =>
        d.toJS() as {
          kind: string;
          spec: { template: { spec: { containers: (ExporterContainer & { name: string })[] } } };
        },
    )
    .find((o) => o.kind === 'StatefulSet');
  const exporter = sts?.spec.template.spec.containers.find((c) => c.name === 'exporter');
  assert.ok(exporter, `${file}: no exporter container`);
  return exporter;
}

const pgManifest = 'base/postgres/statefulset.yaml';
const redisManifests = ['base/redis/standalone/statefulset.yaml', 'base/redis/cluster/statefulset.yaml'];

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const cli = (port: number, ...args: string[]) =>
  execFileSync('redis-cli', ['-p', String(port), ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, REDISCLI_AUTH: PASSWORD },
  });

describe('data store exporters (Debian packages) against real stores and a real Prometheus', () => {
  let postgres: PostgresServer;
  let redis: RedisServer;
  let cluster: RedisClusterNodes;
  const exporters: ExporterProcess[] = [];
  let prom: PrometheusServer;
  let redisTarget: string;
  let pgExporterUrl: string;
  let redisExporterUrl: string;
  let stored: Set<string>;

  before(async () => {
    postgres = await startPostgres();
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query('CREATE DATABASE switchboard');
    await admin.end();
    const app = new pg.Client({ connectionString: postgres.url.replace(/\/postgres$/, '/switchboard') });
    await app.connect();
    await app.query('CREATE TABLE messages (id bigserial PRIMARY KEY, body text)');
    await app.query("INSERT INTO messages (body) SELECT 'm' || g FROM generate_series(1, 1000) g");
    await app.end();

    // As in base/redis: maxmemory below the container limit, noeviction, requirepass.
    redis = await startRedis(['--maxmemory', '192mb', '--maxmemory-policy', 'noeviction'], {
      password: PASSWORD,
    });
    cluster = await startRedisClusterNodes(6, { password: PASSWORD });
    cli(
      cluster.nodes[0]!.port,
      '--cluster',
      'create',
      ...cluster.nodes.map((n) => `${n.host}:${n.port}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    );
    await eventually('cluster_state:ok and every replica linked to its master', async () => {
      const infos = cluster.nodes.map(
        (n) => cli(n.port, 'info', 'replication') + cli(n.port, 'cluster', 'info'),
      );
      const ok = infos.every((i) => i.includes('cluster_state:ok'));
      const replicas = infos.filter((i) => i.includes('role:slave'));
      return ok && replicas.length === 3 && replicas.every((i) => i.includes('master_link_status:up'))
        ? true
        : undefined;
    });

    const pgExporter = await startPostgresExporter({
      uri: `127.0.0.1:${postgres.port}/switchboard?sslmode=disable`,
      user: 'postgres',
      password: PASSWORD,
      queries: join(repoRoot, 'base/postgres/exporter-queries.yaml'),
    });
    const redisExporter = await startRedisExporter({ addr: redis.url, password: PASSWORD });
    const nodeExporters = await Promise.all(
      cluster.nodes.map((n) =>
        startRedisExporter({ addr: `redis://${n.host}:${n.port}`, password: PASSWORD }),
      ),
    );
    exporters.push(pgExporter, redisExporter, ...nodeExporters);
    redisTarget = redisExporter.target;
    pgExporterUrl = `http://${pgExporter.target}`;
    redisExporterUrl = `http://${redisExporter.target}`;

    const started = Date.now();
    prom = await startPrometheus({
      scrapeTargets: [],
      labelledTargets: [
        {
          targets: [pgExporter.target],
          labels: { job: 'postgres', namespace: NAMESPACE, pod: 'postgres-0' },
        },
        { targets: [redisExporter.target], labels: { job: 'redis', namespace: NAMESPACE, pod: 'redis-0' } },
        ...nodeExporters.map((e, i) => ({
          targets: [e.target],
          labels: { job: 'redis-cluster', namespace: NAMESPACE, pod: `redis-cluster-${i}` },
        })),
      ],
      ruleFiles: [join(repoRoot, 'slo/generated/rules.yaml')],
      scrapeIntervalMs: 1000,
    });
    await prom.evaluatedAfter(started);
    stored = new Set(await prom.api<string[]>('label/__name__/values'));
  });

  after(async () => {
    await prom?.stop();
    await Promise.all(exporters.map((e) => e.stop()));
    await cluster?.stop();
    await redis?.stop();
    await postgres?.stop();
  });

  test('the images the manifests pin are the versions of the Debian packages the tests run', () => {
    const pgVersion = debianExporterVersion('prometheus-postgres-exporter');
    const redisVersion = debianExporterVersion('prometheus-redis-exporter');
    assert.equal(
      exporterContainer(pgManifest).image,
      `quay.io/prometheuscommunity/postgres-exporter:v${pgVersion}`,
    );
    for (const file of redisManifests) {
      assert.equal(
        exporterContainer(file).image,
        `docker.io/oliver006/redis_exporter:v${redisVersion}`,
        file,
      );
    }
  });

  test('every exporter reached its store with the hostile password (pg_up and redis_up are 1 on every target)', async () => {
    const up = await prom.query('pg_up or redis_up');
    assert.deepEqual(
      up.map((s) => `${s.labels.pod}=${s.value}`).sort(),
      ['postgres-0', 'redis-0', ...cluster.nodes.map((_, i) => `redis-cluster-${i}`)]
        .map((p) => `${p}=1`)
        .sort(),
    );
  });

  test('the password appears in no exporter output: not in /metrics, not in the logs', async () => {
    for (const e of exporters) {
      const page = await fetch(e.metricsUrl).then((r) => r.text());
      assert.ok(page.length > 1000, `${e.target}: ${page.slice(0, 200)}`);
      // Its head has nothing the exposition format escapes (" and \ would be): a leak cannot hide.
      const head = PASSWORD.slice(0, PASSWORD.indexOf('"'));
      for (const form of [head, encodeURIComponent(head)]) {
        assert.ok(!page.includes(form), `${e.target} /metrics`);
        assert.ok(!e.output().includes(form), `${e.target} log`);
      }
    }
  });

  test('every metric name the data store alerts and dashboards use is stored by Prometheus', () => {
    const expressions = datastoreExpressions();
    const missing: string[] = [];
    let checked = 0;
    for (const { where, expr } of expressions) {
      for (const name of metricNames(expr)) {
        if (name === 'up' || kubeletMetrics.includes(name)) continue;
        checked++;
        if (!stored.has(name)) missing.push(`${where}: ${name}`);
      }
    }
    assert.ok(checked > 40, `only ${checked} metric references checked`);
    assert.deepEqual(missing, []);
  });

  test('every label a data store selector matches or groups by is a label of that metric', async () => {
    const wrong: string[] = [];
    const labelsOf = new Map<string, Set<string>>();
    for (const { where, expr } of datastoreExpressions()) {
      for (const s of selectors(expr)) {
        if (s.name === undefined || s.name === 'up' || kubeletMetrics.includes(s.name)) continue;
        let own = labelsOf.get(s.name);
        if (!own) {
          const series = await prom.api<Record<string, string>[]>(
            `series?match[]=${encodeURIComponent(s.name)}`,
          );
          own = new Set(series.flatMap((x) => Object.keys(x)));
          labelsOf.set(s.name, own);
        }
        for (const l of s.labels)
          if (!targetLabels.has(l) && !own.has(l)) wrong.push(`${where}: ${s.name}{${l}}`);
      }
    }
    assert.deepEqual(wrong, []);
    // The labels the dashboards and alerts group by (`by (...)` is not a selector) exist on their metric.
    for (const [metric, label] of [
      ['pg_stat_activity_count', 'state'],
      ['pg_stat_database_xact_commit', 'datname'],
      ['pg_locks_count', 'mode'],
      ['pg_table_total_bytes', 'relname'],
      ['pg_table_n_live_tup', 'relname'],
      ['redis_connected_slave_lag_seconds', 'slave_ip'],
    ] as const) {
      const got = await prom.query(`count by (${label}) (${metric})`);
      assert.ok(
        got.some((s) => (s.labels[label] ?? '') !== ''),
        `${metric} has no ${label} label`,
      );
    }
  });

  test('the alert ratios evaluate on the real series, and nothing fires on healthy stores', async () => {
    const [connections] = await prom.query(
      'sum by (namespace, pod) (pg_stat_activity_count{job="postgres"}) / max by (namespace, pod) (pg_settings_max_connections{job="postgres"})',
    );
    assert.ok(connections && connections.value > 0 && connections.value < 0.8, JSON.stringify(connections));
    const memory = await prom.query('redis_memory_used_bytes / (redis_memory_max_bytes > 0)');
    assert.deepEqual(
      memory.map((s) => s.labels.pod),
      ['redis-0'],
      'only the standalone Redis has maxmemory in this test',
    );
    assert.ok(memory[0]!.value > 0 && memory[0]!.value < 0.9);
    const clients = await prom.query('redis_connected_clients / redis_config_maxclients');
    assert.equal(clients.length, 7);
    const slots = await prom.query('redis_cluster_slots_ok{job="redis-cluster"}');
    assert.deepEqual(new Set(slots.map((s) => s.value)), new Set([16384]));
    const wal = await prom.query('pg_wal_written_bytes');
    assert.ok(wal[0] && wal[0].value > 0, 'the WAL position is a positive byte count');
    const table = await prom.query('pg_table_total_bytes{relname="messages"}');
    assert.ok(table[0] && table[0].value > 8192, 'the messages table with its index takes space');
    const { alerts } = await prom.api<{ alerts: { labels: Record<string, string>; state: string }[] }>(
      'alerts',
    );
    const datastoreAlerts = new Set([
      'PostgresDown',
      'RedisDown',
      'RedisClusterStateNotOk',
      'RedisMemoryNearMax',
      'DatastoreDiskNearFull',
      'PostgresConnectionsNearMax',
      'RedisConnectionsNearMax',
    ]);
    assert.deepEqual(
      alerts.filter((a) => datastoreAlerts.has(a.labels.alertname ?? '')),
      [],
    );
  });

  test('the paths the exporter probes of the manifests ask answer 200', async () => {
    const probed = (file: string) => {
      const c = exporterContainer(file);
      return [...new Set([c.readinessProbe.httpGet.path, c.livenessProbe.httpGet.path])];
    };
    for (const path of probed(pgManifest)) {
      assert.equal((await fetch(`${pgExporterUrl}${path}`)).status, 200, `postgres exporter ${path}`);
    }
    for (const path of redisManifests.flatMap(probed)) {
      assert.equal((await fetch(`${redisExporterUrl}${path}`)).status, 200, `redis exporter ${path}`);
    }
  });

  test('postgres_exporter 0.11.1 exits at start on a password with a space (docs/operations.md says so)', async () => {
    await assert.rejects(
      startPostgresExporter({
        uri: `127.0.0.1:${postgres.port}/switchboard?sslmode=disable`,
        user: 'postgres',
        password: 'two words',
      }),
      /exited \(1\) before listening:[\s\S]*malformed dsn/,
    );
  });

  /** Once `alertname` is active (pending or firing): [pod, job, state] of each of its alerts. */
  const activeAlerts = (alertname: string) =>
    eventually(`${alertname} active`, async () => {
      const { alerts } = await prom.api<{ alerts: { labels: Record<string, string>; state: string }[] }>(
        'alerts',
      );
      const mine = alerts.filter((a) => a.labels.alertname === alertname);
      return mine.length > 0 ? mine.map((a) => [a.labels.pod, a.labels.job, a.state]) : undefined;
    });

  test('a Redis that dies makes RedisDown pending for that pod only (redis_up 0 from its exporter)', async () => {
    await redis.kill();
    assert.deepEqual(await activeAlerts('RedisDown'), [['redis-0', 'redis', 'pending']]);
    // The exporter itself still answers: the target is up, Redis is not -- and so does the path its
    // probes ask, so a dead Redis neither restarts its exporter nor fails the pod's readiness twice.
    const up = await prom.query(`up{instance="${redisTarget}"}`);
    assert.equal(up[0]?.value, 1);
    const path = exporterContainer(redisManifests[0]!).readinessProbe.httpGet.path;
    assert.equal((await fetch(`${redisExporterUrl}${path}`)).status, 200);
  });

  test('a PostgreSQL that dies makes PostgresDown pending for it (pg_up 0 from its exporter, which stays up)', async () => {
    await postgres.kill();
    assert.deepEqual(await activeAlerts('PostgresDown'), [['postgres-0', 'postgres', 'pending']]);
    const path = exporterContainer(pgManifest).readinessProbe.httpGet.path;
    assert.equal((await fetch(`${pgExporterUrl}${path}`)).status, 200);
  });
});
