/**
 * One worker process of a pod with WORKERS>1 (primary.ts forks it): sessions, hub and transport
 * as in a single process, with broker, presence and history reached through the primary. It
 * listens on PORT (node:cluster shares the primary's socket) but not on METRICS_PORT.
 */
import type { ChannelsModule } from '../channels/module.js';
import type { Config } from '../config.js';
import { startServer, type ServerParts } from '../switchboard.js';
import type { Logger } from '../telemetry/logger.js';
import { registry } from '../telemetry/metrics.js';
import { IpcBroker } from './ipc-broker.js';
import { IpcHistory } from './ipc-history.js';
import { IpcPresence } from './ipc-presence.js';
import { IpcEndpoint, type IpcHandler, type IpcMessage } from './ipc.js';
import type { WorkerStatus } from './primary-ops.js';

/** Starts this worker's server and answers the primary's requests (metrics, status, drain). */
export async function runWorker(config: Config, logger: Logger, channels: ChannelsModule): Promise<void> {
  const handlers = new Map<string, IpcHandler>();
  const primary = new IpcEndpoint(
    (m: IpcMessage) => process.send!(m),
    handlers,
    (op, err) => logger.error({ err, op }, 'workers: a message from the primary failed'),
  );
  process.on('message', (m) => primary.receive(m));
  const backends = {
    broker: new IpcBroker(primary, handlers),
    presence: new IpcPresence(primary, handlers),
    ...(config.webhooks ? { clientEvents: (ev: unknown) => primary.notify('clientEvent', ev) } : {}),
  };
  const server = await startServer(config, logger, channels, {
    backends,
    history: new IpcHistory(primary),
    shareDrainer: { drainShare: (percent, windowMs) => primary.request('shareDrain', percent, windowMs) },
  });
  let stopped: Promise<boolean> | undefined;
  const stop = (budgetMs: number) => (stopped ??= server.stop(() => budgetMs));
  handlers.set('metrics', () => registry.getMetricsAsJSON());
  handlers.set('status', (): WorkerStatus => statusOf(server));
  handlers.set('drain', (budgetMs) => stop(budgetMs as number));
  handlers.set('share', (percent, windowMs) => {
    const started = server.transport.drainer.drainShare(percent as number, windowMs as number);
    return typeof started === 'string' ? started : { closing: started.closing, windowMs: started.windowMs };
  });
  // The primary coordinates shutdown: a signal to the whole process group (Ctrl-C, `timeout`) must
  // not make a worker exit on its own, which the primary would take for a crash. It drains us with
  // the `drain` request, then sends `exit`; if the primary dies, node:cluster ends the worker.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  handlers.set('exit', () => process.exit(0));
  primary.notify('listening', server.address.port);
  logger.info({ pid: process.pid, port: server.address.port }, 'worker listening');
}

function statusOf(server: ServerParts): WorkerStatus {
  const { node } = server;
  return { ready: node.isReady(), draining: node.isDraining, connections: node.connectionCount() };
}
