import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { isOriginAllowed } from '../auth/origin.js';
import { extractToken } from '../auth/token-source.js';
import { AuthError, type TokenVerifier } from '../auth/verifier.js';
import type { SwitchboardNode } from '../node.js';
import type { Logger } from '../telemetry/logger.js';
import { metrics } from '../telemetry/metrics.js';
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

const opened = {
  accepted: metrics.connectionsOpened.labels('accepted'),
  unauthorized: metrics.connectionsOpened.labels('unauthorized'),
  originRejected: metrics.connectionsOpened.labels('origin_rejected'),
  draining: metrics.connectionsOpened.labels('draining'),
  error: metrics.connectionsOpened.labels('error'),
};

function ignoreSocketError(): void {
  // The client went away during the handshake; nothing to do.
}

/**
 * Handles `upgrade`: the connection is authenticated BEFORE the WebSocket handshake (ws in
 * `noServer` mode), so bad tokens get a plain HTTP 401 and never cost a WebSocket. Order:
 * path (404), serializer version (400), draining (503), origin (403), token (401).
 */
export function createUpgradeHandler(deps: UpgradeDeps) {
  const { node, wss, verify, allowedOrigins, logger } = deps;
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', ignoreSocketError);
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== SOCKET_PATH) {
      opened.error.inc();
      return rejectUpgrade(socket, 404, 'Not Found', `no WebSocket endpoint here: connect to ${SOCKET_PATH}`);
    }
    const vsn = url.searchParams.get('vsn');
    if (vsn !== null && !vsn.startsWith('2.')) {
      opened.error.inc();
      return rejectUpgrade(
        socket,
        400,
        'Bad Request',
        `unsupported vsn ${vsn}: this server speaks Phoenix V2 (vsn=2.0.0)`,
      );
    }
    if (node.isDraining) {
      opened.draining.inc();
      return rejectUpgrade(
        socket,
        503,
        'Service Unavailable',
        'server is draining: reconnect to another replica',
      );
    }
    if (!isOriginAllowed(req.headers.origin, allowedOrigins)) {
      opened.originRejected.inc();
      logger.info({ origin: req.headers.origin }, 'upgrade refused: origin not allowed');
      return rejectUpgrade(socket, 403, 'Forbidden', 'origin not allowed (ALLOWED_ORIGINS)');
    }
    const token = extractToken(url.searchParams, req.headers['sec-websocket-protocol']);
    verify(token).then(
      (principal) => {
        if (node.isDraining) {
          opened.draining.inc();
          return rejectUpgrade(
            socket,
            503,
            'Service Unavailable',
            'server is draining: reconnect to another replica',
          );
        }
        wss.handleUpgrade(req, socket, head, (ws) => {
          socket.removeListener('error', ignoreSocketError);
          opened.accepted.inc();
          node.accept(ws, socket, principal);
        });
      },
      (err: unknown) => {
        if (err instanceof AuthError) {
          opened.unauthorized.inc();
          logger.debug({ code: err.code, reason: err.message }, 'upgrade refused: unauthorized');
          return rejectUpgrade(socket, 401, 'Unauthorized', `unauthorized: ${err.code}`);
        }
        opened.error.inc();
        logger.error({ err }, 'token verification failed unexpectedly');
        return rejectUpgrade(socket, 500, 'Internal Server Error', 'token verification failed');
      },
    );
  };
}
