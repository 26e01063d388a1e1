/**
 * The data stores as their exporters see them: PostgreSQL (postgres_exporter v0.11.1 with
 * base/postgres/exporter-queries.yaml) and Redis, standalone or Cluster (redis_exporter v1.45.0), each
 * a container beside its StatefulSet, scraped through the PodMonitors of base/monitoring (job = the
 * pod's app.kubernetes.io/name). Alerts carry a runbook link to docs/operations.md; every metric name
 * here is checked against the real exporters' output (slo/test/datastore-metrics.test.ts) except the
 * kubelet's volume statistics, listed in {@link kubeletMetrics}.
 */
import { m, rateSum, type DashboardSpec } from './dashboards/model.js';
import type { RuleGroup } from './rules.js';

export const datastoreGroupName = 'switchboard-datastores';
export const postgresDashboardUid = 'switchboard-postgres';
export const redisDashboardUid = 'switchboard-redis';

/** The PodMonitors' jobs (the pods' app.kubernetes.io/name). */
const postgresJob = 'job="postgres"';
const redisJobs = 'job=~"redis|redis-cluster"';

/**
 * Volume statistics come from the kubelet (kube-prometheus-stack scrapes it), not from an exporter
 * these tests can run: their names are the kubelet's documented ones, checked by hand.
 */
export const kubeletMetrics = ['kubelet_volume_stats_used_bytes', 'kubelet_volume_stats_capacity_bytes'];

/** The data stores' PersistentVolumeClaims: data-postgres-0, data-redis-0, data-redis-cluster-N. */
const dataClaims = 'persistentvolumeclaim=~"data-(postgres|redis|redis-cluster)-[0-9]+"';

const runbook = (anchor: string) => `docs/operations.md#${anchor}`;

/** The alerts, one runbook entry each in docs/operations.md (heading = alert name). */
export function datastoreRules(): RuleGroup {
  return {
    name: datastoreGroupName,
    rules: [
      {
        alert: 'PostgresDown',
        expr: `pg_up{${postgresJob}} == 0 or up{${postgresJob}} == 0`,
        for: '2m',
        labels: { severity: 'page' },
        annotations: {
          summary: 'PostgreSQL {{ $labels.namespace }}/{{ $labels.pod }} is down or unobserved',
          description:
            'The exporter cannot reach PostgreSQL (pg_up 0), or Prometheus cannot scrape the exporter (up 0), for 2 minutes: history writes queue up and then drop.',
          runbook: runbook('postgresdown'),
        },
      },
      {
        alert: 'RedisDown',
        expr: `redis_up{${redisJobs}} == 0 or up{${redisJobs}} == 0`,
        for: '2m',
        labels: { severity: 'page' },
        annotations: {
          summary: 'Redis {{ $labels.namespace }}/{{ $labels.pod }} is down or unobserved',
          description:
            'The exporter cannot reach Redis (redis_up 0), or Prometheus cannot scrape the exporter (up 0), for 2 minutes: publications between server pods stop.',
          runbook: runbook('redisdown'),
        },
      },
      {
        alert: 'RedisClusterStateNotOk',
        expr: `redis_cluster_state{${redisJobs}} == 0 or redis_cluster_slots_ok{${redisJobs}} < 16384`,
        for: '1m',
        labels: { severity: 'page' },
        annotations: {
          summary: 'Redis Cluster node {{ $labels.namespace }}/{{ $labels.pod }}: cluster state not ok',
          description:
            'For a minute the node reports cluster_state fail (value 0) or fewer than all 16384 slots served by a healthy node (value: the slots served, {{ $value }}): commands on uncovered slots fail.',
          runbook: runbook('redisclusterstatenotok'),
        },
      },
      {
        alert: 'RedisMemoryNearMax',
        expr: `redis_memory_used_bytes{${redisJobs}} / (redis_memory_max_bytes{${redisJobs}} > 0) > 0.9`,
        for: '5m',
        labels: { severity: 'ticket' },
        annotations: {
          summary: 'Redis {{ $labels.namespace }}/{{ $labels.pod }} uses over 90 % of maxmemory',
          description:
            'Used memory is {{ $value | humanizePercentage }} of maxmemory for 5 minutes; at 100 % Redis (noeviction) refuses writes: presence updates fail.',
          runbook: runbook('redismemorynearmax'),
        },
      },
      {
        alert: 'DatastoreDiskNearFull',
        expr: `kubelet_volume_stats_used_bytes{${dataClaims}} / kubelet_volume_stats_capacity_bytes{${dataClaims}} > 0.85`,
        for: '10m',
        labels: { severity: 'ticket' },
        annotations: {
          summary: 'Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} is over 85 % full',
          description:
            '{{ $value | humanizePercentage }} of the data volume is used; a full volume stops PostgreSQL writes and Redis AOF rewrites.',
          runbook: runbook('datastoredisknearfull'),
        },
      },
      {
        alert: 'PostgresConnectionsNearMax',
        expr:
          `sum by (namespace, pod) (pg_stat_activity_count{${postgresJob}}) / ` +
          `max by (namespace, pod) (pg_settings_max_connections{${postgresJob}}) > 0.8`,
        for: '5m',
        labels: { severity: 'ticket' },
        annotations: {
          summary: 'PostgreSQL {{ $labels.namespace }}/{{ $labels.pod }} uses over 80 % of max_connections',
          description:
            '{{ $value | humanizePercentage }} of max_connections are open for 5 minutes; at 100 % new server pods cannot connect.',
          runbook: runbook('postgresconnectionsnearmax'),
        },
      },
      {
        alert: 'RedisConnectionsNearMax',
        expr: `redis_connected_clients{${redisJobs}} / redis_config_maxclients{${redisJobs}} > 0.8 or increase(redis_rejected_connections_total{${redisJobs}}[5m]) > 0`,
        for: '5m',
        labels: { severity: 'ticket' },
        annotations: {
          summary:
            'Redis {{ $labels.namespace }}/{{ $labels.pod }} is near maxclients or rejects connections',
          description:
            'Over 80 % of maxclients connected, or connections rejected, for 5 minutes (value {{ $value }}).',
          runbook: runbook('redisconnectionsnearmax'),
        },
      },
    ],
  };
}

const pg = (metric: string, matchers = '') => m(metric, [postgresJob, matchers].filter(Boolean).join(','));
const rd = (metric: string, matchers = '') => m(metric, [redisJobs, matchers].filter(Boolean).join(','));
const db = 'datname="switchboard"';

export const postgresDashboard: DashboardSpec = {
  uid: postgresDashboardUid,
  title: 'Switchboard / PostgreSQL',
  description:
    'The history store as postgres_exporter sees it: connections, transactions, cache, growth, slow queries and locks.',
  namespaced: true,
  rows: [
    [
      {
        title: 'Up',
        description: 'pg_up: 1 when the exporter reached PostgreSQL at its last scrape.',
        type: 'stat',
        min: 0,
        max: 1,
        queries: [{ expr: `min by (pod) (${pg('pg_up')})`, legend: '{{pod}}' }],
      },
      {
        title: 'Connections used',
        description:
          'Open connections as a share of max_connections (PostgresConnectionsNearMax fires above 80 %).',
        type: 'stat',
        unit: 'percentunit',
        min: 0,
        max: 1,
        queries: [
          {
            expr: `sum by (pod) (${pg('pg_stat_activity_count')}) / max by (pod) (${pg('pg_settings_max_connections')})`,
            legend: '{{pod}}',
          },
        ],
      },
    ],
    [
      {
        title: 'Connections by state',
        description: 'Backends of the switchboard database by state: many "idle in transaction" hold locks.',
        min: 0,
        queries: [{ expr: `sum by (state) (${pg('pg_stat_activity_count', db)})`, legend: '{{state}}' }],
      },
      {
        title: 'Transactions',
        description: 'Commits and rollbacks per second in the switchboard database.',
        unit: 'ops',
        min: 0,
        queries: [
          { expr: rateSum(pg('pg_stat_database_xact_commit', db)), legend: 'commit' },
          { expr: rateSum(pg('pg_stat_database_xact_rollback', db)), legend: 'rollback' },
        ],
      },
      {
        title: 'Cache hit ratio',
        description:
          'Blocks found in shared buffers over all blocks read: below ~0.99 the working set no longer fits in memory.',
        unit: 'percentunit',
        max: 1,
        queries: [
          {
            expr: `${rateSum(pg('pg_stat_database_blks_hit', db))} / (${rateSum(pg('pg_stat_database_blks_hit', db))} + ${rateSum(pg('pg_stat_database_blks_read', db))})`,
            legend: 'hit ratio',
          },
        ],
      },
    ],
    [
      {
        title: 'Database and table size',
        description:
          'Size of the switchboard database, and of each table with its indexes (the history grows here).',
        unit: 'bytes',
        min: 0,
        queries: [
          { expr: `sum(${pg('pg_database_size_bytes', db)})`, legend: 'database' },
          { expr: `sum by (relname) (${pg('pg_table_total_bytes')})`, legend: '{{relname}}' },
        ],
      },
      {
        title: 'WAL written',
        description:
          'Write-ahead log bytes written per second: write load, and how fast WAL fills the volume.',
        unit: 'Bps',
        min: 0,
        queries: [{ expr: rateSum(pg('pg_wal_written_bytes')), legend: 'WAL' }],
      },
      {
        title: 'Rows and dead rows',
        description: 'Live and dead tuples per table: dead rows that keep growing mean autovacuum is behind.',
        min: 0,
        queries: [
          { expr: `sum by (relname) (${pg('pg_table_n_live_tup')})`, legend: 'live {{relname}}' },
          { expr: `sum by (relname) (${pg('pg_table_n_dead_tup')})`, legend: 'dead {{relname}}' },
        ],
      },
    ],
    [
      {
        title: 'Slow queries',
        description:
          'Client queries running for more than a second, and how long the longest one has run (seconds).',
        min: 0,
        queries: [
          { expr: `sum(${pg('pg_slow_queries_active_over_1s')})`, legend: 'running > 1 s' },
          { expr: `max(${pg('pg_slow_queries_longest_active_seconds')})`, legend: 'longest (s)' },
          {
            expr: `max(${pg('pg_stat_activity_max_tx_duration', `${db},state="idle in transaction"`)})`,
            legend: 'oldest idle-in-transaction (s)',
          },
        ],
      },
      {
        title: 'Locks and deadlocks',
        description: 'Locks held in the switchboard database by mode, and deadlocks per second.',
        min: 0,
        queries: [
          { expr: `sum by (mode) (${pg('pg_locks_count', db)})`, legend: '{{mode}}' },
          { expr: rateSum(pg('pg_stat_database_deadlocks', db)), legend: 'deadlocks/s' },
        ],
      },
    ],
  ],
};

export const redisDashboard: DashboardSpec = {
  uid: redisDashboardUid,
  title: 'Switchboard / Redis',
  description:
    'The broker as redis_exporter sees it, per node: memory, evictions, keyspace, pub/sub, cluster state and replication.',
  namespaced: true,
  rows: [
    [
      {
        title: 'Up',
        description: 'redis_up per node: 1 when the exporter reached Redis at its last scrape.',
        type: 'stat',
        min: 0,
        max: 1,
        queries: [{ expr: `min by (pod) (${rd('redis_up')})`, legend: '{{pod}}' }],
      },
      {
        title: 'Cluster state',
        description: 'cluster_state per node (1 ok, 0 fail); empty for standalone Redis.',
        type: 'stat',
        min: 0,
        max: 1,
        queries: [{ expr: `min by (pod) (${rd('redis_cluster_state')})`, legend: '{{pod}}' }],
      },
    ],
    [
      {
        title: 'Memory used / maxmemory',
        description: 'Used memory as a share of maxmemory per node (RedisMemoryNearMax fires above 90 %).',
        unit: 'percentunit',
        min: 0,
        queries: [
          {
            expr: `max by (pod) (${rd('redis_memory_used_bytes')} / (${rd('redis_memory_max_bytes')} > 0))`,
            legend: '{{pod}}',
          },
        ],
      },
      {
        title: 'Evictions and rejected connections',
        description: 'Keys evicted per second (0 under noeviction) and connections refused per second.',
        unit: 'ops',
        min: 0,
        queries: [
          { expr: rateSum(rd('redis_evicted_keys_total'), 'pod'), legend: 'evicted {{pod}}' },
          { expr: rateSum(rd('redis_rejected_connections_total'), 'pod'), legend: 'rejected {{pod}}' },
        ],
      },
      {
        title: 'Clients',
        description: 'Connected clients per node: each server pod holds a few.',
        min: 0,
        queries: [{ expr: `sum by (pod) (${rd('redis_connected_clients')})`, legend: '{{pod}}' }],
      },
    ],
    [
      {
        title: 'Keyspace',
        description: 'Keys per node (presence and channel state), and those with a TTL.',
        min: 0,
        queries: [
          { expr: `sum by (pod) (${rd('redis_db_keys')})`, legend: 'keys {{pod}}' },
          { expr: `sum by (pod) (${rd('redis_db_keys_expiring')})`, legend: 'expiring {{pod}}' },
        ],
      },
      {
        title: 'Pub/sub channels',
        description:
          'Channels and patterns with at least one subscriber, per node: the topics server pods listen to.',
        min: 0,
        queries: [
          { expr: `sum by (pod) (${rd('redis_pubsub_channels')})`, legend: 'channels {{pod}}' },
          { expr: `sum by (pod) (${rd('redis_pubsub_patterns')})`, legend: 'patterns {{pod}}' },
        ],
      },
      {
        title: 'Commands',
        description: 'Commands processed per second per node (publishes, subscribes, presence).',
        unit: 'ops',
        min: 0,
        queries: [{ expr: rateSum(rd('redis_commands_processed_total'), 'pod'), legend: '{{pod}}' }],
      },
    ],
    [
      {
        title: 'Slot coverage',
        description:
          'Slots assigned, served by a healthy node (ok), and possibly or surely failing, as each node sees them.',
        min: 0,
        max: 16384,
        queries: [
          { expr: `min(${rd('redis_cluster_slots_assigned')})`, legend: 'assigned' },
          { expr: `min(${rd('redis_cluster_slots_ok')})`, legend: 'ok' },
          { expr: `max(${rd('redis_cluster_slots_pfail')})`, legend: 'pfail' },
          { expr: `max(${rd('redis_cluster_slots_fail')})`, legend: 'fail' },
        ],
      },
      {
        title: 'Replication',
        description:
          'Replicas connected to each master, and whether the link of each replica to its master is up.',
        min: 0,
        queries: [
          { expr: `sum by (pod) (${rd('redis_connected_slaves')}) > 0`, legend: 'replicas of {{pod}}' },
          { expr: `min by (pod) (${rd('redis_master_link_up')})`, legend: 'link up {{pod}}' },
        ],
      },
      {
        title: 'Replication lag',
        description: 'Seconds since each replica last acknowledged its master, as the master reports it.',
        unit: 's',
        min: 0,
        queries: [
          {
            expr: `max by (pod, slave_ip) (${rd('redis_connected_slave_lag_seconds')})`,
            legend: '{{pod}} → {{slave_ip}}',
          },
        ],
      },
    ],
  ],
};
