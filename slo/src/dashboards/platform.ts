import { m, quantile, rateSum, type DashboardSpec } from './model.js';

/** Node.js process health from prom-client's default metrics. */
export const runtime: DashboardSpec = {
  uid: 'switchboard-runtime',
  title: 'Switchboard / Runtime',
  description: 'CPU, memory, event-loop lag, garbage collection and handles of each Node.js process.',
  namespaced: true,
  rows: [
    [
      {
        title: 'CPU',
        description: 'CPU seconds used per second, per pod (1 = one core).',
        unit: 'short',
        min: 0,
        queries: [
          {
            expr: rateSum(m('process_cpu_seconds_total'), 'pod'),
            legend: '{{pod}}',
          },
        ],
      },
      {
        title: 'Memory',
        description: 'Resident set size and V8 heap in use, per pod.',
        unit: 'bytes',
        min: 0,
        queries: [
          { expr: `sum by (pod) (${m('process_resident_memory_bytes')})`, legend: 'rss {{pod}}' },
          { expr: `sum by (pod) (${m('nodejs_heap_size_used_bytes')})`, legend: 'heap {{pod}}' },
        ],
      },
    ],
    [
      {
        title: 'Event-loop lag p99',
        description: 'The 99th percentile of event-loop delay: above ~50 ms every socket on the pod waits.',
        unit: 's',
        min: 0,
        queries: [{ expr: `max by (pod) (${m('nodejs_eventloop_lag_p99_seconds')})`, legend: '{{pod}}' }],
      },
      {
        title: 'Garbage collection',
        description: 'Seconds per second spent in garbage collection, per pod and GC kind.',
        unit: 'percentunit',
        min: 0,
        queries: [
          {
            expr: rateSum(m('nodejs_gc_duration_seconds_sum'), 'pod, kind'),
            legend: '{{pod}} {{kind}}',
          },
        ],
      },
    ],
    [
      {
        title: 'Active handles and open file descriptors',
        description:
          'libuv handles (sockets, timers) and file descriptors per pod: they grow with connections.',
        queries: [
          { expr: `sum by (pod) (${m('nodejs_active_handles_total')})`, legend: 'handles {{pod}}' },
          { expr: `sum by (pod) (${m('process_open_fds')})`, legend: 'fds {{pod}}' },
        ],
      },
    ],
  ],
};

/** Redis (broker) and PostgreSQL (history) as Switchboard sees them. */
export const backends: DashboardSpec = {
  uid: 'switchboard-backends',
  title: 'Switchboard / Redis and PostgreSQL',
  description: 'The broker (Redis pub/sub) and the history store (PostgreSQL) seen from each pod.',
  namespaced: true,
  rows: [
    [
      {
        title: 'Broker publish duration p99',
        description: 'Time to hand a publication to Redis, per pod.',
        unit: 's',
        min: 0,
        queries: [
          { expr: quantile(0.99, 'switchboard_broker_publish_duration_seconds', 'pod'), legend: '{{pod}}' },
        ],
      },
      {
        title: 'Broker errors by operation',
        description: 'Redis errors per second by operation (publish, subscribe, connection).',
        unit: 'ops',
        queries: [
          {
            expr: rateSum(m('switchboard_broker_errors_total'), 'op'),
            legend: '{{op}}',
          },
        ],
      },
    ],
    [
      {
        title: 'History write duration p99',
        description: 'Time to write one batch of history to PostgreSQL, per pod.',
        unit: 's',
        min: 0,
        queries: [
          { expr: quantile(0.99, 'switchboard_history_write_duration_seconds', 'pod'), legend: '{{pod}}' },
        ],
      },
      {
        title: 'History queue and drops',
        description:
          'Publications waiting for PostgreSQL, and those dropped per second because the queue was full.',
        queries: [
          { expr: `sum by (pod) (${m('switchboard_history_queue_depth')})`, legend: 'queued {{pod}}' },
          {
            expr: rateSum(m('switchboard_history_dropped_total'), 'pod'),
            legend: 'dropped/s {{pod}}',
          },
        ],
      },
      {
        title: 'History cache bytes and evictions',
        description:
          'Bytes held by the memory history ring per pod (at most HISTORY_CACHE_MAX_BYTES), and publications evicted per second by the byte budgets.',
        queries: [
          { expr: `sum by (pod) (${m('switchboard_history_cache_bytes')})`, legend: 'bytes {{pod}}' },
          {
            expr: rateSum(m('switchboard_history_cache_evicted_total'), 'budget'),
            legend: 'evicted/s {{budget}}',
          },
        ],
      },
    ],
    [
      {
        title: 'Recoveries by outcome',
        description: 'Rejoins that asked for missed messages per second: recovered from history or not.',
        unit: 'ops',
        queries: [
          {
            expr: rateSum(m('switchboard_recoveries_total'), 'outcome'),
            legend: '{{outcome}}',
          },
        ],
      },
    ],
  ],
};
