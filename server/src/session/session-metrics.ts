import { metrics } from '../telemetry/metrics.js';

/** Label children resolved once: the per-message path must not hash label sets. */
export const sessionMetrics = {
  rxHeartbeat: metrics.messagesReceived.labels('heartbeat'),
  rxJoin: metrics.messagesReceived.labels('join'),
  rxLeave: metrics.messagesReceived.labels('leave'),
  rxPush: metrics.messagesReceived.labels('push'),
  rxInvalid: metrics.messagesReceived.labels('invalid'),
  rxControl: metrics.messagesReceived.labels('control'),
  txReply: metrics.messagesSent.labels('reply'),
  txPush: metrics.messagesSent.labels('push'),
  txPresence: metrics.messagesSent.labels('presence'),
  txRecovered: metrics.messagesSent.labels('recovered'),
  joinOk: metrics.joins.labels('ok'),
  joinUnauthorized: metrics.joins.labels('unauthorized'),
  joinUnmatched: metrics.joins.labels('unmatched'),
  joinLimit: metrics.joins.labels('limit'),
  joinError: metrics.joins.labels('error'),
  rejectedMalformed: metrics.framesRejected.labels('malformed'),
  rejectedTooLarge: metrics.framesRejected.labels('too_large'),
  rejectedRateLimited: metrics.framesRejected.labels('rate_limited'),
  rejectedTopicLimit: metrics.framesRejected.labels('topic_limit'),
  rejectedPresenceChurn: metrics.framesRejected.labels('presence_churn'),
};
