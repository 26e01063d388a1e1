import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import { isOriginAllowed } from '../auth/origin.js';
import { extractToken } from '../auth/token-source.js';
import { AuthError, type TokenVerifier } from '../auth/verifier.js';
import type { SwitchboardNode } from '../node.js';
import type { Logger } from '../telemetry/logger.js';
import { serializerForVsn, unsupportedVsnMessage } from '../protocol/serializer.js';
import { metrics } from '../telemetry/metrics.js';
import { withConnectSpan, type ConnectSpanHandle } from '../telemetry/tracing.js';
import type { ClientAddressResolver } from './client-address.js';
import type { ConnectionCounter } from './connection-caps.js';
import { HttpError, rejectUpgrade } from './http-util.js';
import { parseRequestTarget } from './request-target.js';

/** The WebSocket endpoint: the client's `new Socket("/socket")` appends `/websocket`. */
export const SOCKET_PATH = '/socket/websocket';

export interface UpgradeDeps {
  node: SwitchboardNode;
  wss: WebSocketServer;
  verify: TokenVerifier;
  allowedOrigins: readonly string[];
  logger: Logger;
  /** Open WebSockets per JWT `sub` (MAX_CONNECTIONS_PER_USER). */
  perUser: ConnectionCounter;
  /** Open WebSockets and upgrades in progress per client address (MAX_CONNECTIONS_PER_ADDRESS). */
  perAddress: ConnectionCounter;
  clientAddress: ClientAddressResolver;
}

/** `bad_request`: the client's mistake (wrong path, unsupported vsn), kept apart from server `error`s for the SLO. */
type OpenResult =
  'accepted' | 'unauthorized' | 'origin_rejected' | 'draining' | 'bad_request' | 'over_limit' | 'error';

/** switchboard_connections_opened_total children, resolved once. */
const opened: Record<OpenResult, { inc(): void }> = {
  accepted: metrics.connectionsOpened.labels('accepted'),
  unauthorized: metrics.connectionsOpened.labels('unauthorized'),
  origin_rejected: metrics.connectionsOpened.labels('origin_rejected'),
  draining: metrics.connectionsOpened.labels('draining'),
  bad_request: metrics.connectionsOpened.labels('bad_request'),
  over_limit: metrics.connectionsOpened.labels('over_limit'),
  error: metrics.connectionsOpened.labels('error'),
};

/** RFC 6455 4.4: a refused version is answered with the versions the server speaks. */
function versionHint(message: string): Record<string, string> | undefined {
  return message.includes('Sec-WebSocket-Version') ? { 'Sec-WebSocket-Version': '13, 8' } : undefined;
}

const kAddressSlot = Symbol('switchboard.addressSlot');
const kUserSlot = Symbol('switchboard.userSlot');
/** A socket holding slots: their keys are kept on it until it closes. */
type SlotSocket = Duplex & { [kAddressSlot]?: string; [kUserSlot]?: string };

/**
 * Gives the slots of a closed socket back. Shared by every socket of a server, with the keys on
 * the socket: a `once` closure per slot cost about 200 bytes per connection (issue 14).
 */
function slotReleaser(perAddress: ConnectionCounter, perUser: ConnectionCounter) {
  return function releaseSlots(this: SlotSocket): void {
    const address = this[kAddressSlot];
    const user = this[kUserSlot];
    this[kAddressSlot] = this[kUserSlot] = undefined;
    if (address !== undefined) perAddress.release(address);
    if (user !== undefined) perUser.release(user);
  };
}

function ignoreSocketError(): void {
  // The client went away during the handshake; nothing to do.
}

/**
 * Handles `upgrade`: the connection is authenticated BEFORE the WebSocket handshake (ws in
 * `noServer` mode), so bad tokens get a plain HTTP 401 and never cost a WebSocket. Order:
 * request target (400), path (404), method (405), serializer version (400), draining (503),
 * connections from the client address (429), origin (403), token (401), connections of the user
 * (429), then ws's own handshake checks (400). Every refusal lingers (see rejectUpgrade).
 * A slot taken in a per-address or per-user counter is given back when the TCP socket closes,
 * whatever happened to the upgrade.
 * Each upgrade is one `connect` span (when tracing is on) ended with the same result the
 * switchboard_connections_opened_total counter gets; lines logged meanwhile carry its trace id.
 */
export function createUpgradeHandler(deps: UpgradeDeps) {
  const { node, wss, verify, allowedOrigins, logger, perUser, perAddress } = deps;
  const releaseSlots = slotReleaser(perAddress, perUser);
  // ws checks the handshake headers synchronously inside handleUpgrade; with a listener here it
  // leaves the answer to us (its own answer closes at once, without lingering).
  let refuseHandshake: ((message: string) => void) | undefined;
  wss.on('wsClientError', (err: Error, socket: Duplex) => {
    if (refuseHandshake) refuseHandshake(err.message);
    else rejectUpgrade(socket, 400, 'Bad Request', err.message);
  });
  const handle = (
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    path: string,
    query: URLSearchParams,
    span: ConnectSpanHandle,
  ): void => {
    socket.on('error', ignoreSocketError);
    const refuse = (
      result: OpenResult,
      status: number,
      reason: string,
      message: string,
      err?: unknown,
      headers?: Record<string, string>,
    ) => {
      opened[result].inc();
      span.end(result, status, err);
      rejectUpgrade(socket, status, reason, message, headers);
    };
    if (path !== SOCKET_PATH) {
      return refuse('bad_request', 404, 'Not Found', `no WebSocket endpoint here: connect to ${SOCKET_PATH}`);
    }
    if (req.method !== 'GET') {
      return refuse('bad_request', 405, 'Method Not Allowed', 'a WebSocket handshake is a GET', undefined, {
        Allow: 'GET',
      });
    }
    const vsn = query.get('vsn');
    const serializer = serializerForVsn(vsn);
    if (!serializer) {
      return refuse('bad_request', 400, 'Bad Request', unsupportedVsnMessage(vsn));
    }
    const draining = () =>
      refuse('draining', 503, 'Service Unavailable', 'server is draining: reconnect to another replica');
    if (node.isDraining) return draining();
    const address = deps.clientAddress.resolve(req);
    if (!perAddress.tryAcquire(address)) {
      logger.info({ address, cap: perAddress.cap }, 'upgrade refused: too many connections from address');
      return refuse(
        'over_limit',
        429,
        'Too Many Requests',
        `too many connections from this address (MAX_CONNECTIONS_PER_ADDRESS=${perAddress.cap})`,
      );
    }
    // Given back when the TCP socket closes, at once if it already has (no 'close' will come).
    if (socket.destroyed) perAddress.release(address);
    else {
      (socket as SlotSocket)[kAddressSlot] = address;
      socket.on('close', releaseSlots);
    }
    if (!isOriginAllowed(req.headers.origin, allowedOrigins)) {
      logger.info({ origin: req.headers.origin }, 'upgrade refused: origin not allowed');
      return refuse('origin_rejected', 403, 'Forbidden', 'origin not allowed (ALLOWED_ORIGINS)');
    }
    const token = extractToken(query, req.headers['sec-websocket-protocol']);
    verify(token).then(
      async (verified) => {
        const admission = await node.admit(verified, query);
        if (!('principal' in admission)) {
          logger.debug({ user: verified.sub, reason: admission.reason }, 'upgrade refused by connect');
          return admission.status === 403
            ? refuse('unauthorized', 403, 'Forbidden', admission.reason)
            : refuse('error', 500, 'Internal Server Error', admission.reason);
        }
        const principal = admission.principal;
        if (node.isDraining) return draining();
        if (!perUser.tryAcquire(principal.sub)) {
          logger.info(
            { user: principal.sub, cap: perUser.cap },
            'upgrade refused: too many connections for user',
          );
          return refuse(
            'over_limit',
            429,
            'Too Many Requests',
            `too many connections for this user (MAX_CONNECTIONS_PER_USER=${perUser.cap})`,
          );
        }
        // The socket was open when the address slot was taken: releaseSlots listens already.
        if (socket.destroyed) perUser.release(principal.sub);
        else (socket as SlotSocket)[kUserSlot] = principal.sub;
        refuseHandshake = (message) =>
          refuse('bad_request', 400, 'Bad Request', message, undefined, versionHint(message));
        try {
          wss.handleUpgrade(req, socket, head, (ws) => {
            socket.removeListener('error', ignoreSocketError);
            opened.accepted.inc();
            span.end('accepted', 101);
            node.accept(ws, socket, principal, serializer);
          });
        } finally {
          refuseHandshake = undefined;
        }
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
    const target = parseRequestTarget(req.url);
    if (target instanceof HttpError) {
      opened.bad_request.inc();
      socket.on('error', ignoreSocketError);
      return rejectUpgrade(socket, 400, 'Bad Request', target.message);
    }
    withConnectSpan(target.path, (span) => handle(req, socket, head, target.path, target.query, span));
  };
}
