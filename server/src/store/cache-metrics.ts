import { metrics } from '../telemetry/metrics.js';

/** History cache metric children, resolved once (the publish path must not hash label sets). */
export const historyCacheMetrics = {
  bytes: metrics.historyCacheBytes,
  evictedTopicBytes: metrics.historyCacheEvicted.labels('topic_bytes'),
  evictedNodeBytes: metrics.historyCacheEvicted.labels('node_bytes'),
};
