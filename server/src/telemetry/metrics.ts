import client from 'prom-client';

/**
 * Every metric the server exports. Label values are bounded sets: never raw topic names or user ids.
 * The SLO source (slo/) and dashboards refer to these names; tests scrape /metrics to check them.
 */
export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });

const latencyBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export const metrics = {
  connections: new client.Gauge({
    name: 'switchboard_connections',
    help: 'Open connections: WebSockets and LongPoll sessions',
    registers: [registry],
  }),
  connectionsOpened: new client.Counter({
    name: 'switchboard_connections_opened_total',
    help: 'WebSocket upgrade attempts by result (accepted, unauthorized, origin_rejected, draining, bad_request, over_limit, error)',
    labelNames: ['result'] as const,
    registers: [registry],
  }),
  longPollRequests: new client.Counter({
    name: 'switchboard_longpoll_requests_total',
    help: 'LongPoll requests by request (open, poll, post), result (ok, empty, gone, forbidden, refused) and route (local, relayed: the session lives on another node)',
    labelNames: ['request', 'result', 'route'] as const,
    registers: [registry],
  }),
  longPollSessions: new client.Gauge({
    name: 'switchboard_longpoll_sessions',
    help: 'LongPoll sessions living on this node (also counted in switchboard_connections)',
    registers: [registry],
  }),
  joins: new client.Counter({
    name: 'switchboard_joins_total',
    help: 'Channel joins by result (ok, unauthorized, unmatched, limit, error)',
    labelNames: ['result'] as const,
    registers: [registry],
  }),
  messagesReceived: new client.Counter({
    name: 'switchboard_messages_received_total',
    help: 'Frames received from clients, by kind (heartbeat, join, leave, push, invalid, control: WebSocket ping/pong)',
    labelNames: ['kind'] as const,
    registers: [registry],
  }),
  messagesSent: new client.Counter({
    name: 'switchboard_messages_sent_total',
    help: 'Frames sent to clients, by kind (reply, broadcast, push, presence, recovered)',
    labelNames: ['kind'] as const,
    registers: [registry],
  }),
  broadcastsUndeliverable: new client.Counter({
    name: 'switchboard_broadcasts_undeliverable_total',
    help: 'Broadcasts not delivered to a subscriber whose serializer cannot carry them (binary payloads to vsn=1.0.0 connections)',
    registers: [registry],
  }),
  channelHandlerErrors: new client.Counter({
    name: 'switchboard_channel_handler_errors_total',
    help: 'Channel handler callbacks that threw or rejected, by callback (connect, join, handle_in, handle_out, terminate)',
    labelNames: ['callback'] as const,
    registers: [registry],
  }),
  hookRequests: new client.Counter({
    name: 'switchboard_hook_requests_total',
    help: 'Calls to the backend hooks by hook (connect, join, push, publish) and outcome (ok, timeout, unavailable, http_error, invalid, busy, breaker_open)',
    labelNames: ['hook', 'outcome'] as const,
    registers: [registry],
  }),
  hookDuration: new client.Histogram({
    name: 'switchboard_hook_duration_seconds',
    help: 'Time of calls to the backend hooks that were sent (retry included), by hook',
    labelNames: ['hook'] as const,
    buckets: latencyBuckets,
    registers: [registry],
  }),
  hookBreakerOpen: new client.Gauge({
    name: 'switchboard_hook_breaker_open',
    help: '1 while the hooks circuit breaker refuses calls after consecutive failures, else 0',
    registers: [registry],
  }),
  webhooks: new client.Counter({
    name: 'switchboard_webhooks_total',
    help: 'Webhook events by event (channel_occupied, channel_vacated, member_added, member_removed) and outcome (delivered, rejected: a 4xx answer, failed: gave up after WEBHOOK_MAX_ATTEMPTS, dropped: queue full or shutdown)',
    labelNames: ['event', 'outcome'] as const,
    registers: [registry],
  }),
  webhookAttempts: new client.Counter({
    name: 'switchboard_webhook_attempts_total',
    help: 'Webhook delivery attempts by result (ok, http_error: 408/429/5xx, retried; rejected: other 4xx; timeout; unavailable)',
    labelNames: ['result'] as const,
    registers: [registry],
  }),
  webhookQueueDepth: new client.Gauge({
    name: 'switchboard_webhook_queue_depth',
    help: 'Webhook events on this node waiting, between retries or in flight (bounded by WEBHOOK_QUEUE_MAX)',
    registers: [registry],
  }),
  webhookQueueBytes: new client.Gauge({
    name: 'switchboard_webhook_queue_bytes',
    help: 'Outbox size (docs/webhooks.md) of webhook events on this node waiting, between retries or in flight (bounded by WEBHOOK_QUEUE_MAX_BYTES)',
    registers: [registry],
  }),
  webhookLedgerErrors: new client.Counter({
    name: 'switchboard_webhook_ledger_errors_total',
    help: 'Failed webhook ledger operations (hold, release, append, tick, done); a failed hold, release or append can lose an event',
    labelNames: ['op'] as const,
    registers: [registry],
  }),
  publishes: new client.Counter({
    name: 'switchboard_publishes_total',
    help: 'Publications accepted by this node, by source (client, api)',
    labelNames: ['source'] as const,
    registers: [registry],
  }),
  deliveryLatency: new client.Histogram({
    name: 'switchboard_delivery_latency_seconds',
    help: 'Publish-to-delivery latency, from the publish timestamp to the write to the subscriber (across nodes)',
    buckets: latencyBuckets,
    registers: [registry],
  }),
  disconnects: new client.Counter({
    name: 'switchboard_disconnects_total',
    help: 'Closed connections by WebSocket close code (known codes, else "other")',
    labelNames: ['code'] as const,
    registers: [registry],
  }),
  slowConsumerCloses: new client.Counter({
    name: 'switchboard_slow_consumer_closes_total',
    help: 'Connections closed because their outbound queue exceeded its bound',
    registers: [registry],
  }),
  framesRejected: new client.Counter({
    name: 'switchboard_frames_rejected_total',
    help: 'Inbound frames rejected, by reason (malformed, too_large, rate_limited, topic_limit, presence_churn)',
    labelNames: ['reason'] as const,
    registers: [registry],
  }),
  brokerPublishLatency: new client.Histogram({
    name: 'switchboard_broker_publish_duration_seconds',
    help: 'Time to hand a publication to the broker',
    buckets: latencyBuckets,
    registers: [registry],
  }),
  brokerErrors: new client.Counter({
    name: 'switchboard_broker_errors_total',
    help: 'Broker errors by operation (publish, subscribe, connection, presence, decode)',
    labelNames: ['op'] as const,
    registers: [registry],
  }),
  historyWriteLatency: new client.Histogram({
    name: 'switchboard_history_write_duration_seconds',
    help: 'Time to write one batch of history',
    buckets: latencyBuckets,
    registers: [registry],
  }),
  historyQueueDepth: new client.Gauge({
    name: 'switchboard_history_queue_depth',
    help: 'Publications waiting to be written to history',
    registers: [registry],
  }),
  historyDropped: new client.Counter({
    name: 'switchboard_history_dropped_total',
    help: 'Publications dropped from the history write queue because it was full',
    registers: [registry],
  }),
  historyCacheBytes: new client.Gauge({
    name: 'switchboard_history_cache_bytes',
    help: 'Bytes of publications held in this process by the memory history ring (BROKER=memory), over all topics',
    registers: [registry],
  }),
  historyCacheEvicted: new client.Counter({
    name: 'switchboard_history_cache_evicted_total',
    help: 'Publications evicted from the history cache (memory ring or Redis hot cache) by a byte budget, by budget (topic_bytes, node_bytes)',
    labelNames: ['budget'] as const,
    registers: [registry],
  }),
  recoveries: new client.Counter({
    name: 'switchboard_recoveries_total',
    help: 'Rejoins that asked for recovery, by outcome (recovered, not_recovered)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  draining: new client.Gauge({
    name: 'switchboard_draining',
    help: '1 while the node drains for shutdown',
    aggregator: 'max',
    registers: [registry],
  }),
  drainClosed: new client.Counter({
    name: 'switchboard_drain_closed_total',
    help: 'Connections closed with 1012 by a drain (shutdown or POST /api/drain)',
    registers: [registry],
  }),
  rebalances: new client.Counter({
    name: 'switchboard_rebalance_drains_total',
    help: 'Share drains this node started to move its connections above the cluster mean (REBALANCE_INTERVAL_MS)',
    registers: [registry],
  }),
  buildInfo: new client.Gauge({
    name: 'switchboard_build_info',
    help: 'Always 1; labels name the running build: version (server/package.json) and revision (SWITCHBOARD_REVISION, the git commit)',
    labelNames: ['version', 'revision'] as const,
    // WORKERS>1: one series for the pod, not one per worker summed (workers/primary-ops.ts).
    aggregator: 'first',
    registers: [registry],
  }),
  drainRemaining: new client.Gauge({
    name: 'switchboard_drain_connections_remaining',
    help: 'Connections still open during a drain',
    registers: [registry],
  }),
  httpRequests: new client.Counter({
    name: 'switchboard_http_requests_total',
    help: 'HTTP requests by route (healthz, readyz, metrics, broadcast, history, control, demo, other) and status class (2xx..5xx)',
    labelNames: ['route', 'status_class'] as const,
    registers: [registry],
  }),
};

/** Maps a close code to a bounded label value. */
export function closeCodeLabel(code: number): string {
  const known = [
    1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1011, 1012, 4000, 4001, 4003, 4008, 4009, 4029,
  ];
  return known.includes(code) ? String(code) : 'other';
}

/**
 * prom-client exports a labelled series only after its first increment, so Prometheus would never
 * see that increment (rate() needs two samples). The series the SLOs read start at 0 instead.
 */
function exportZeroes(): void {
  const results = [
    'accepted',
    'unauthorized',
    'origin_rejected',
    'draining',
    'bad_request',
    'over_limit',
    'error',
  ];
  for (const result of results) {
    metrics.connectionsOpened.labels(result).inc(0);
  }
  for (const result of ['ok', 'unauthorized', 'unmatched', 'limit', 'error'])
    metrics.joins.labels(result).inc(0);
  for (const outcome of ['recovered', 'not_recovered']) metrics.recoveries.labels(outcome).inc(0);
  for (const budget of ['topic_bytes', 'node_bytes']) metrics.historyCacheEvicted.labels(budget).inc(0);
  for (const op of ['publish', 'subscribe', 'connection']) metrics.brokerErrors.labels(op).inc(0);
  for (const code of ['1000', '1006', '1011', '1012', '4008']) metrics.disconnects.labels(code).inc(0);
}
exportZeroes();
