import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type ServerOptions } from 'ws';
import type { TokenVerifier } from '../auth/verifier.js';
import type { Config } from '../config.js';
import type { SwitchboardNode } from '../node.js';
import type { Logger } from '../telemetry/logger.js';
import { Drainer } from './drain.js';
import { startHeartbeatSweep } from './heartbeat.js';
import { ClientAddressResolver } from './client-address.js';
import { ConnectionCounter } from './connection-caps.js';
import type { ShareDrainer } from './api-drain.js';
import { createOpsRequestHandler, createRequestHandler } from './http-routes.js';
import { LongPollSessions } from './longpoll.js';
import { Rebalancer } from './rebalancer.js';
import { loadStaticAssets } from './static-files.js';
import { createUpgradeHandler } from './upgrade.js';

export interface TransportOptions {
  config: Config;
  node: SwitchboardNode;
  verify: TokenVerifier;
  logger: Logger;
  /** False in a worker (WORKERS>1): the primary serves METRICS_PORT for the pod. Default true. */
  opsPort?: boolean;
  /** `POST /api/drain`'s drainer when not this process's own (WORKERS>1: every worker's). */
  shareDrainer?: ShareDrainer;
}

export interface Transport {
  server: Server;
  /** /metrics, /healthz and /readyz on METRICS_PORT. */
  opsServer: Server;
  drainer: Drainer;
  /** Binds HOST:PORT and HOST:METRICS_PORT; resolves with the public address. */
  listen(): Promise<AddressInfo>;
  /** Stops accepting HTTP and the heartbeat sweep (after the drain closed the WebSockets). */
  close(): Promise<void>;
}

/** Phoenix clients offer `phoenix` (plus the token subprotocol); answer `phoenix` when offered. */
function handleProtocols(protocols: Set<string>): string | false {
  return protocols.has('phoenix') ? 'phoenix' : false;
}

/** HTTP server + WebSocket upgrade + heartbeat sweep + drain, around one node. */
export function createTransport(opts: TransportOptions): Transport {
  const { config, node, verify, logger } = opts;
  const wssOptions: ServerOptions & { closeTimeout: number } = {
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: config.limits.maxFrameBytes,
    handleProtocols,
    // How long a closing connection may take to answer our close frame before it is cut.
    closeTimeout: 10_000,
    // Pings are answered by the session, under its rate limit and outbound bound (ws's automatic
    // pong is written past both: a ping flood from a client that never reads grew memory unbounded).
    autoPong: false,
  };
  const wss = new WebSocketServer(wssOptions);
  const { edge } = config;
  // One set of caps for both transports: a LongPoll session holds a slot like a WebSocket.
  const perUser = new ConnectionCounter(edge.maxConnectionsPerUser);
  const perAddress = new ConnectionCounter(edge.maxConnectionsPerAddress);
  const clientAddress = new ClientAddressResolver(edge.trustedProxies);
  const longPoll = new LongPollSessions({
    node,
    verify,
    pollWindowMs: edge.longPollWindowMs,
    idleMs: edge.longPollIdleMs,
    relayTimeoutMs: edge.longPollRelayTimeoutMs,
    allowedOrigins: config.allowedOrigins,
    perUser,
    perAddress,
    clientAddress,
  });
  const drainer = new Drainer(node, { windowMs: config.drainWindowMs, logger });
  const { intervalMs, tolerancePercent } = config.rebalance;
  const rebalancer =
    intervalMs > 0
      ? new Rebalancer({
          intervalMs,
          tolerance: tolerancePercent / 100,
          // Each round's drain is over before the next round looks at the counts again.
          windowMs: Math.min(config.drainWindowMs, Math.floor(intervalMs / 2)),
          own: () => node.connectionCount(),
          peers: () => node.control.peerConnections(),
          drainer,
          logger,
        })
      : undefined;
  // Node's defaults hold a never-finished request head for 60 s and check only every 30 s.
  const server = createServer(
    {
      headersTimeout: edge.headersTimeoutMs,
      requestTimeout: edge.requestTimeoutMs,
      keepAliveTimeout: edge.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(edge.headersTimeoutMs / 4))),
    },
    createRequestHandler({
      config,
      node,
      assets: loadStaticAssets(),
      logger,
      longPoll,
      drainer: opts.shareDrainer ?? drainer,
    }),
  );
  server.on(
    'upgrade',
    createUpgradeHandler({
      node,
      wss,
      verify,
      allowedOrigins: config.allowedOrigins,
      logger,
      perUser,
      perAddress,
      clientAddress,
    }),
  );
  const opsServer = createServer(
    { headersTimeout: 5000, requestTimeout: 10_000, keepAliveTimeout: edge.keepAliveTimeoutMs },
    createOpsRequestHandler({ node, logger }),
  );
  const stopSweep = startHeartbeatSweep(node.sessions, config.limits.heartbeatTimeoutMs);

  return {
    server,
    opsServer,
    drainer,
    listen: async () => {
      if (opts.opsPort !== false) await listenOn(opsServer, config.metricsPort, config.host);
      const address = await listenOn(server, config.port, config.host, config.listenBacklog);
      rebalancer?.start();
      return address;
    },
    close: async () => {
      rebalancer?.stop();
      stopSweep();
      longPoll.stop();
      await Promise.all([closeServer(server), closeServer(opsServer)]);
    },
  };
}

/** `backlog` 511 is Node's own default (the ops port sees a scrape and probes, never a storm). */
function listenOn(server: Server, port: number, host: string, backlog = 511): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog }, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
