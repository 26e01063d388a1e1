import type { LatencySli, Objective } from '../objectives.js';
import { tidy } from '../sli.js';
import { m, quantile, rateSum, type DashboardSpec, type PanelSpec } from './model.js';

/** HTTP routes that are API traffic: not probes, not scrapes. */
const apiRoutes = 'route!~"healthz|readyz|metrics"';

/** Connections, joins and message throughput. */
export const connections: DashboardSpec = {
  uid: 'switchboard-connections',
  title: 'Switchboard / Connections and throughput',
  description: 'Open WebSockets, upgrade and join outcomes, frames in and out, publications.',
  namespaced: true,
  rows: [
    [
      {
        title: 'Open connections',
        description: 'WebSocket connections open now, per pod.',
        queries: [{ expr: `sum by (pod) (${m('switchboard_connections')})`, legend: '{{pod}}' }],
      },
      {
        title: 'Upgrade attempts by result',
        description:
          'WebSocket upgrades per second: accepted, unauthorized, origin_rejected, draining, error.',
        unit: 'reqps',
        queries: [
          { expr: rateSum(m('switchboard_connections_opened_total'), 'result'), legend: '{{result}}' },
        ],
      },
    ],
    [
      {
        title: 'Joins by result',
        description: 'Channel joins per second by result (ok, unauthorized, unmatched, limit, error).',
        unit: 'ops',
        queries: [{ expr: rateSum(m('switchboard_joins_total'), 'result'), legend: '{{result}}' }],
      },
      {
        title: 'Publications by source',
        description: 'Publications accepted per second, from clients and from the HTTP API.',
        unit: 'ops',
        queries: [{ expr: rateSum(m('switchboard_publishes_total'), 'source'), legend: '{{source}}' }],
      },
    ],
    [
      {
        title: 'Frames received by kind',
        description: 'Frames from clients per second: heartbeat, join, leave, push, invalid.',
        unit: 'ops',
        queries: [{ expr: rateSum(m('switchboard_messages_received_total'), 'kind'), legend: '{{kind}}' }],
      },
      {
        title: 'Frames sent by kind',
        description: 'Frames to clients per second: reply, broadcast, push, presence.',
        unit: 'ops',
        queries: [{ expr: rateSum(m('switchboard_messages_sent_total'), 'kind'), legend: '{{kind}}' }],
      },
    ],
    [
      {
        title: 'Draining',
        description: 'Pods draining for shutdown and the connections they still hold.',
        queries: [
          { expr: `sum(${m('switchboard_draining')})`, legend: 'pods draining' },
          { expr: `sum(${m('switchboard_drain_connections_remaining')})`, legend: 'connections left' },
        ],
      },
    ],
  ],
};

type LatencyObjective = Objective & { sli: LatencySli };

function isLatency(o: Objective): o is LatencyObjective {
  return o.sli.kind === 'latency';
}

/** The share of observations within a latency objective's threshold, per pod. */
function withinThreshold(o: LatencyObjective): PanelSpec {
  const { histogram, threshold } = o.sli;
  const ms = tidy(threshold * 1000);
  return {
    title: `Within ${ms} ms (${o.name})`,
    description: `${o.description} Target ${o.target}; per pod.`,
    unit: 'percentunit',
    max: 1,
    queries: [
      {
        expr:
          `${rateSum(m(`${histogram}_bucket`, `le="${threshold}"`), 'pod')}` +
          ` / ${rateSum(m(`${histogram}_count`), 'pod')}`,
        legend: '{{pod}}',
      },
    ],
  };
}

/** Publish-to-delivery latency (broker and history timings are on the backends dashboard). */
export const latency = (objectives: Objective[]): DashboardSpec => ({
  uid: 'switchboard-latency',
  title: 'Switchboard / Latency',
  description: 'Publish-to-delivery latency quantiles and the share delivered within the objective.',
  namespaced: true,
  rows: [
    [
      {
        title: 'Publish-to-delivery latency',
        description: 'From the publish on any node to the write to the subscriber; quantiles over all pods.',
        unit: 's',
        min: 0,
        queries: [0.5, 0.9, 0.99].map((q) => ({
          expr: quantile(q, 'switchboard_delivery_latency_seconds'),
          legend: `p${tidy(q * 100)}`,
        })),
      },
      ...objectives.filter(isLatency).map(withinThreshold),
    ],
  ],
});

/** Errors, refusals and close codes. */
export const errors: DashboardSpec = {
  uid: 'switchboard-errors',
  title: 'Switchboard / Errors and disconnects',
  description: 'HTTP status classes, refused upgrades and joins, rejected frames and WebSocket close codes.',
  namespaced: true,
  rows: [
    [
      {
        title: 'HTTP requests by route and status class',
        description: 'Requests per second by route and status class.',
        unit: 'reqps',
        queries: [
          {
            expr: rateSum(m('switchboard_http_requests_total'), 'route, status_class'),
            legend: '{{route}} {{status_class}}',
          },
        ],
      },
      {
        title: 'HTTP 5xx ratio (API)',
        description: 'Share of API requests (not probes or scrapes) answered with a 5xx.',
        unit: 'percentunit',
        min: 0,
        queries: [
          {
            expr:
              `${rateSum(m('switchboard_http_requests_total', `${apiRoutes},status_class="5xx"`))}` +
              ` / ${rateSum(m('switchboard_http_requests_total', apiRoutes))}`,
            legend: '5xx',
          },
        ],
      },
    ],
    [
      {
        title: 'Disconnects by close code',
        description:
          'Closed connections per second by WebSocket close code (1011 = server error, 4008 = slow consumer, 4029 = rate limited...).',
        unit: 'ops',
        queries: [{ expr: rateSum(m('switchboard_disconnects_total'), 'code'), legend: '{{code}}' }],
      },
      {
        title: 'Refused upgrades and joins',
        description: 'Upgrades and joins per second that did not succeed, by result.',
        unit: 'ops',
        queries: [
          {
            expr: rateSum(m('switchboard_connections_opened_total', 'result!="accepted"'), 'result'),
            legend: 'upgrade {{result}}',
          },
          {
            expr: rateSum(m('switchboard_joins_total', 'result!="ok"'), 'result'),
            legend: 'join {{result}}',
          },
        ],
      },
    ],
    [
      {
        title: 'Frames rejected by reason',
        description: 'Inbound frames rejected per second: malformed, too_large, rate_limited, topic_limit.',
        unit: 'ops',
        queries: [{ expr: rateSum(m('switchboard_frames_rejected_total'), 'reason'), legend: '{{reason}}' }],
      },
      {
        title: 'Slow-consumer closes',
        description: 'Connections closed per second because their outbound queue exceeded its bound.',
        unit: 'ops',
        queries: [
          {
            expr: rateSum(m('switchboard_slow_consumer_closes_total')),
            legend: 'closes',
          },
        ],
      },
    ],
  ],
};
