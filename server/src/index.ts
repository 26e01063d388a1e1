/**
 * The embedding API: run Switchboard inside your own Node process, with channel handlers passed as
 * objects (docs/channels.md, "Embedding"). The standalone server (main.ts) is the same thing started
 * from the environment, with signals and exit codes.
 *
 *   import { createSwitchboard } from '@switchboard/server';
 *   const sb = await createSwitchboard({ env: { PORT: '4000', JWT_SECRET: '…' }, routes, connect });
 *   …
 *   await sb.stop();
 */
import type { ConnectHandler } from './channels/connect.js';
import { checkRoutes, loadChannelsModule } from './channels/module.js';
import type { Route } from './channels/router.js';
import { loadConfig, type Config } from './config.js';
import type { SwitchboardNode } from './node.js';
import type { PresenceState } from './presence/presence.js';
import { startServer } from './switchboard.js';
import { createLogger, type Logger } from './telemetry/logger.js';
import { configuredSecrets } from './telemetry/redact.js';

export type {
  BroadcastMessage,
  ChannelActions,
  ChannelAssigns,
  ChannelHandler,
  JoinRequest,
  JoinResult,
  OutRequest,
  PushActions,
  PushRequest,
  PushResult,
  TerminateReason,
  TerminateRequest,
} from './channels/channel.js';
export type { ConnectHandler, ConnectRequest, ConnectResult } from './channels/connect.js';
export type { Route } from './channels/router.js';
export type { Principal } from './auth/principal.js';
export type { PresenceState } from './presence/presence.js';
export { ConfigError } from './config.js';
export { StartError } from './switchboard.js';

export interface SwitchboardOptions {
  /**
   * The configuration variables (docs/configuration.md), as the environment would hold them.
   * Default: `process.env`. Read once, validated before anything starts (throws ConfigError).
   */
  env?: Record<string, string | undefined>;
  /** Your channel routes, tried in order before CHANNELS_MODULE's (if set) and the built-in ones. */
  routes?: Route[];
  /** Decides who may connect, after the JWT is verified; wins over CHANNELS_MODULE's `connect`. */
  connect?: ConnectHandler;
  /** A pino logger; default: JSON lines on stdout at LOG_LEVEL, with secrets masked. */
  logger?: Logger;
}

/** A running server in this process. */
export interface Switchboard {
  /** `http://host:port` of the public server; clients connect to `${url}/socket`. */
  readonly url: string;
  readonly port: number;
  /** The port of /metrics, /healthz and /readyz. */
  readonly metricsPort: number;
  readonly config: Config;
  /** The node itself, for what this API does not wrap (counts, sessions). */
  readonly node: SwitchboardNode;
  /** Publishes `event` with a JSON `payload` to `topic` on every node (as POST /api/broadcast). */
  broadcast(topic: string, event: string, payload: unknown): void;
  /** Closes every connection of user `sub` on every node (4003); resolves with how many closed. */
  disconnectUser(sub: string): Promise<number>;
  /** Takes user `sub` out of `topic` on every node (phx_close); resolves with how many channels. */
  unsubscribeUser(sub: string, topic: string): Promise<number>;
  /** Who is online on `topic`, over every node (the presence state clients get). */
  presence(topic: string): Promise<PresenceState>;
  /**
   * Drains (clients get 1012 and reconnect elsewhere, paced over DRAIN_WINDOW_MS), stops HTTP,
   * flushes history writes (up to `flushBudgetMs`, default 5000) and disconnects the backends.
   * Resolves false when the history flush timed out.
   */
  stop(opts?: { flushBudgetMs?: number }): Promise<boolean>;
}

/** Starts a Switchboard server in this process; resolves once it listens. */
export async function createSwitchboard(opts: SwitchboardOptions = {}): Promise<Switchboard> {
  const config = loadConfig(opts.env ?? process.env);
  const logger =
    opts.logger ??
    createLogger({ level: config.logLevel, nodeId: config.nodeId, secrets: configuredSecrets(config) });
  const fromModule = config.channelsModule ? await loadChannelsModule(config.channelsModule) : { routes: [] };
  const routes = [...checkRoutes(opts.routes ?? [], 'createSwitchboard'), ...fromModule.routes];
  const server = await startServer(config, logger, {
    routes,
    connect: opts.connect ?? fromModule.connect,
  });
  const { node } = server;
  const host = server.address.host === '0.0.0.0' ? '127.0.0.1' : server.address.host;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${server.address.port}`,
    port: server.address.port,
    metricsPort: server.metricsPort,
    config,
    node,
    broadcast: (topic, event, payload) => node.publishFromApi(topic, event, payload),
    disconnectUser: (sub) => node.control.disconnectUser(sub),
    unsubscribeUser: (sub, topic) => node.control.unsubscribeUser(sub, topic),
    presence: (topic) => node.presence.list(topic),
    stop: (o = {}) => server.stop(() => o.flushBudgetMs ?? 5000),
  };
}
