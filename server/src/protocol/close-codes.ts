/**
 * WebSocket close codes the server sends, with their meaning and what a client should do.
 * 1000-1015 are RFC 6455 codes; 4000-4999 are private to this protocol. The official `phoenix`
 * client (1.8) reconnects with backoff after any close it did not initiate, so `clientReconnects`
 * states the intended behaviour for clients that choose (and what docs/protocol.md tells users).
 */
export const CloseCode = {
  /** Normal closure (only when the client asked for it). */
  normal: 1000,
  /** A frame that is not a valid message of the connection's serializer (bad JSON, wrong shape, bad binary header, invalid UTF-8). */
  malformedFrame: 1007,
  /** Policy violation: reserved for server policies without a more specific code. */
  policyViolation: 1008,
  /** An inbound message larger than MAX_FRAME_BYTES. */
  frameTooLarge: 1009,
  /** The server failed while handling the connection. */
  internalError: 1011,
  /** The node is draining for a restart or deploy; reconnect (to another replica). */
  serviceRestart: 1012,
  /** Nothing received for HEARTBEAT_TIMEOUT_MS. */
  heartbeatTimeout: 4000,
  /** The connection's token expired and no fresh one was handed over (`access_token`). */
  tokenExpired: 4001,
  /** The backend disconnected the user (`POST /api/users/:sub/disconnect`). */
  disconnected: 4003,
  /** The connection's outbound queue exceeded OUTBOUND_QUEUE_MAX_BYTES: it does not read fast enough. */
  slowConsumer: 4008,
  /** The client kept sending over its rate limit after being told `rate limited`. */
  rateLimited: 4029,
} as const;

export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

export interface CloseCodeInfo {
  code: CloseCodeValue;
  /** Close reason sent in the close frame (short, ASCII, at most 123 bytes). */
  reason: string;
  meaning: string;
  /** Whether a client should reconnect, and how. */
  clientReconnects: 'yes' | 'yes, with backoff' | 'no';
}

/** The table documented in docs/protocol.md. */
export const closeCodeTable: readonly CloseCodeInfo[] = [
  {
    code: 1000,
    reason: 'normal',
    meaning: 'Normal closure, initiated by the client.',
    clientReconnects: 'no',
  },
  {
    code: 1007,
    reason: 'malformed frame',
    meaning:
      "A frame was not a valid message of the connection's serializer, V2 or V1 (JSON, shape, types, binary header, UTF-8).",
    clientReconnects: 'yes, with backoff',
  },
  {
    code: 1008,
    reason: 'policy violation',
    meaning: 'Reserved for server policies without a more specific code (not sent today).',
    clientReconnects: 'no',
  },
  {
    code: 1009,
    reason: 'frame too large',
    meaning: 'An inbound message exceeded `MAX_FRAME_BYTES`.',
    clientReconnects: 'yes, with backoff',
  },
  {
    code: 1011,
    reason: 'internal error',
    meaning: 'The server failed while handling this connection.',
    clientReconnects: 'yes, with backoff',
  },
  {
    code: 1012,
    reason: 'service restart',
    meaning:
      'The node is draining (deploy, scale-in, SIGTERM) or moving a share of its connections (`POST /api/drain`); connections are closed in paced batches. The reason is JSON with a suggested reconnect delay: `{"reason":"service restart","reconnect_after_ms":N}`.',
    clientReconnects: 'yes',
  },
  {
    code: 4000,
    reason: 'heartbeat timeout',
    meaning: 'Nothing was received for `HEARTBEAT_TIMEOUT_MS`.',
    clientReconnects: 'yes',
  },
  {
    code: 4001,
    reason: 'token expired',
    meaning:
      'The token the connection was opened (or last refreshed) with reached its `exp`; refresh it before then with `access_token` on topic `phoenix`.',
    clientReconnects: 'yes',
  },
  {
    code: 4003,
    reason: 'disconnected',
    meaning:
      'The backend disconnected this user on every node (`POST /api/users/:sub/disconnect`). The official client reconnects: to keep the user out, stop issuing tokens that let them in.',
    clientReconnects: 'yes',
  },
  {
    code: 4008,
    reason: 'slow consumer',
    meaning: 'More than `OUTBOUND_QUEUE_MAX_BYTES` waited to be written to this client: it reads too slowly.',
    clientReconnects: 'yes, with backoff',
  },
  {
    code: 4029,
    reason: 'rate limit exceeded',
    meaning: 'The client kept sending above `RATE_LIMIT_PER_SECOND` after `rate limited` replies.',
    clientReconnects: 'yes, with backoff',
  },
];

/** The close reason the server sends with `code`. */
export function closeReason(code: CloseCodeValue): string {
  return closeCodeTable.find((c) => c.code === code)?.reason ?? '';
}

/** The largest reconnect delay a drain suggests (a batch interval is at most 2 s; this bounds a bad input). */
export const MAX_RECONNECT_AFTER_MS = 600_000;

/**
 * The close reason of a drain's 1012: JSON naming a suggested reconnect delay, jittered by the drainer
 * so the clients of one batch come back spread over the interval before the next one (at most 123 bytes).
 */
export function drainCloseReason(reconnectAfterMs: number): string {
  const ms = Math.min(MAX_RECONNECT_AFTER_MS, Math.max(0, Math.floor(reconnectAfterMs) || 0));
  return JSON.stringify({ reason: closeReason(CloseCode.serviceRestart), reconnect_after_ms: ms });
}
