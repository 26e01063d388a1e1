import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { isOriginAllowed } from '../auth/origin.js';
import { extractToken } from '../auth/token-source.js';
import { AuthError, type TokenVerifier } from '../auth/verifier.js';
import type { SwitchboardNode } from '../node.js';
import type { Logger } from '../telemetry/logger.js';
import { metrics } from '../telemetry/metrics.js';
import { withConnectSpan, type ConnectSpanHandle } from '../telemetry/tracing.js';
import { rejectUpgrade } from './http-util.js';

/** The WebSocket endpoint: the client's `new Socket("/socket")` appends `/websocket`. */
export const SOCKET_PATH = '/socket/websocket';

export interface UpgradeDeps {
  node: SwitchboardNode;
  wss: WebSocketServer;
  verify: TokenVerifier;
  allowedOrigins: readonly string[];
  logger: Logger;
}

/** `bad_request`: the client's mistake (wrong path, unsupported vsn), kept apart from server `error`s for the SLO. */
type OpenResult = 'accepted' | 'unauthorized' | 'origin_rejected' | 'draining' | 'bad_request' | 'error';

/** switchboard_connections_opened_total children, resolved once. */
const opened: Record<OpenResult, { inc(): void }> = {
  accepted: metrics.connectionsOpened.labels('accepted'),
  unauthorized: metrics.connectionsOpened.labels('unauthorized'),
  origin_rejected: metrics.connectionsOpened.labels('origin_rejected'),
  draining: metrics.connectionsOpened.labels('draining'),
  bad_request: metrics.connectionsOpened.labels('bad_request'),
  error: metrics.connectionsOpened.labels('error'),
};

function ignoreSocketError(): void {
  // The client went away during the handshake; nothing to do.
}

/**
 * Handles `upgrade`: the connection is authenticated BEFORE the WebSocket handshake (ws in
 * `noServer` mode), so bad tokens get a plain HTTP 401 and never cost a WebSocket. Order:
 * path (404), serializer version (400), draining (503), origin (403), token (401).
 * Each upgrade is one `connect` span (when tracing is on) ended with the same result the
 * switchboard_connections_opened_total counter gets; lines logged meanwhile carry its trace id.
 */
export function createUpgradeHandler(deps: UpgradeDeps) {
  const { node, wss, verify, allowedOrigins, logger } = deps;
  const handle = (
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    url: URL,
    span: ConnectSpanHandle,
  ): void => {
    socket.on('error', ignoreSocketError);
    const refuse = (result: OpenResult, status: number, reason: string, message: string, err?: unknown) => {
      opened[result].inc();
      span.end(result, status, err);
      rejectUpgrade(socket, status, reason, message);
    };
    if (url.pathname !== SOCKET_PATH) {
      return refuse('bad_request', 404, 'Not Found', `no WebSocket endpoint here: connect to ${SOCKET_PATH}`);
    }
    const vsn = url.searchParams.get('vsn');
    if (vsn !== null && !vsn.startsWith('2.')) {
      return refuse(
        'bad_request',
        400,
        'Bad Request',
        `unsupported vsn ${vsn}: this server speaks Phoenix V2 (vsn=2.0.0)`,
      );
    }
    const draining = () =>
      refuse('draining', 503, 'Service Unavailable', 'server is draining: reconnect to another replica');
    if (node.isDraining) return draining();
    if (!isOriginAllowed(req.headers.origin, allowedOrigins)) {
      logger.info({ origin: req.headers.origin }, 'upgrade refused: origin not allowed');
      return refuse('origin_rejected', 403, 'Forbidden', 'origin not allowed (ALLOWED_ORIGINS)');
    }
    const token = extractToken(url.searchParams, req.headers['sec-websocket-protocol']);
    verify(token).then(
      (principal) => {
        if (node.isDraining) return draining();
        wss.handleUpgrade(req, socket, head, (ws) => {
          socket.removeListener('error', ignoreSocketError);
          opened.accepted.inc();
          span.end('accepted', 101);
          node.accept(ws, socket, principal);
        });
      },
      (err: unknown) => {
        if (err instanceof AuthError) {
          // The request is logged with its credentials masked (see telemetry/logger.ts).
          logger.debug({ req, code: err.code, reason: err.message }, 'upgrade refused: unauthorized');
          return refuse('unauthorized', 401, 'Unauthorized', `unauthorized: ${err.code}`);
        }
        logger.error({ err }, 'token verification failed unexpectedly');
        return refuse('error', 500, 'Internal Server Error', 'token verification failed', err);
      },
    );
  };
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    withConnectSpan(url.pathname, (span) => handle(req, socket, head, url, span));
  };
}
