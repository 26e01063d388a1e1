import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type ServerOptions } from 'ws';
import type { TokenVerifier } from '../auth/verifier.js';
import type { Config } from '../config.js';
import type { SwitchboardNode } from '../node.js';
import type { Logger } from '../telemetry/logger.js';
import { Drainer } from './drain.js';
import { startHeartbeatSweep } from './heartbeat.js';
import { createRequestHandler } from './http-routes.js';
import { loadStaticAssets } from './static-files.js';
import { createUpgradeHandler } from './upgrade.js';

export interface TransportOptions {
  config: Config;
  node: SwitchboardNode;
  verify: TokenVerifier;
  logger: Logger;
}

export interface Transport {
  server: Server;
  drainer: Drainer;
  /** Binds HOST:PORT; resolves with the bound address. */
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
  };
  const wss = new WebSocketServer(wssOptions);
  const server = createServer(createRequestHandler({ config, node, assets: loadStaticAssets(), logger }));
  server.on(
    'upgrade',
    createUpgradeHandler({ node, wss, verify, allowedOrigins: config.allowedOrigins, logger }),
  );
  const stopSweep = startHeartbeatSweep(node.sessions, config.limits.heartbeatTimeoutMs);
  const drainer = new Drainer(node, { windowMs: config.drainWindowMs, logger });

  return {
    server,
    drainer,
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    close: async () => {
      stopSweep();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
