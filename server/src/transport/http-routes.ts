import type { IncomingMessage, ServerResponse } from 'node:http';
import { signDevToken } from '../auth/dev-token.js';
import type { Config } from '../config.js';
import type { SwitchboardNode } from '../node.js';
import type { Logger } from '../telemetry/logger.js';
import { metrics, registry } from '../telemetry/metrics.js';
import { handleApiBroadcast } from './api-broadcast.js';
import { handleApiHistory, matchHistoryPath } from './api-history.js';
import { HttpError, sendBody, sendJson, statusClass } from './http-util.js';
import type { StaticAsset } from './static-files.js';

export interface RouteDeps {
  config: Config;
  node: SwitchboardNode;
  assets: Map<string, StaticAsset>;
  logger: Logger;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

/** Bounded route label of switchboard_http_requests_total. */
type RouteLabel = 'healthz' | 'readyz' | 'metrics' | 'broadcast' | 'history' | 'demo' | 'other';

/**
 * Plain HTTP endpoints:
 *   GET  /healthz        200 while the process runs (liveness)
 *   GET  /readyz         200 when the broker is connected and the node is not draining, else 503
 *   GET  /metrics        Prometheus text format
 *   POST /api/broadcast  server-side publish (Bearer API_TOKEN)
 *   GET  /api/topics/:topic/messages?since=OFFSET&limit=N   history read (Bearer API_TOKEN)
 *   GET  /demo/token     dev-only demo token (absent when NODE_ENV=production)
 *   GET  /, /demo.js, /vendor/phoenix.mjs   demo page and the official client
 */
export function createRequestHandler(deps: RouteDeps) {
  const { config, node, assets, logger } = deps;
  const devTokens = !config.production && config.jwt.secret !== undefined;
  const routes = new Map<string, { method: string; label: RouteLabel; handle: Handler }>([
    [
      '/healthz',
      { method: 'GET', label: 'healthz', handle: (_q, res) => sendJson(res, 200, { status: 'ok' }) },
    ],
    [
      '/readyz',
      {
        method: 'GET',
        label: 'readyz',
        handle: (_q, res) => {
          const ready = node.isReady();
          sendJson(res, ready ? 200 : 503, {
            ready,
            draining: node.isDraining,
            broker: node.brokerConnected ? 'connected' : 'disconnected',
          });
        },
      },
    ],
    [
      '/metrics',
      {
        method: 'GET',
        label: 'metrics',
        handle: async (_q, res) => sendBody(res, 200, await registry.metrics(), registry.contentType),
      },
    ],
    [
      '/api/broadcast',
      {
        method: 'POST',
        label: 'broadcast',
        handle: (req, res) =>
          handleApiBroadcast(req, res, {
            apiToken: config.apiToken,
            maxBodyBytes: config.limits.maxFrameBytes,
            publish: (b) => node.publishFromApi(b.topic, b.event, b.payload),
          }),
      },
    ],
  ]);
  if (devTokens) {
    routes.set('/demo/token', {
      method: 'GET',
      label: 'demo',
      handle: async (_q, res, url) => {
        const user = url.searchParams.get('user') ?? '';
        if (!/^[\p{L}\p{N}_.\- ]{1,32}$/u.test(user)) {
          throw new HttpError(
            400,
            'user must be 1-32 letters, digits, spaces, "_", "." or "-": /demo/token?user=alice',
          );
        }
        const token = await signDevToken(config.jwt.secret!, user, config.jwt);
        sendJson(res, 200, { token, user, join: ['room:*'], publish: ['room:*'] });
      },
    });
  }
  for (const [path, asset] of assets) {
    routes.set(path, {
      method: 'GET',
      label: 'demo',
      handle: (_q, res) => sendBody(res, 200, asset.body, asset.contentType),
    });
  }

  /** `/api/topics/:topic/messages`: the one route with a parameter. */
  const historyRoute = (pathname: string) => {
    const topic = matchHistoryPath(pathname);
    if (topic === null) return undefined;
    const handle: Handler = (req, res, url) => {
      if (topic instanceof HttpError) throw topic;
      return handleApiHistory(req, res, url, topic, {
        apiToken: config.apiToken,
        readSince: (t, since, limit) => node.history.readSince(t, since, limit),
      });
    };
    return { method: 'GET', label: 'history' as const, handle };
  };

  return (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = routes.get(url.pathname) ?? historyRoute(url.pathname);
    const label: RouteLabel = route?.label ?? 'other';
    res.once('finish', () => metrics.httpRequests.labels(label, statusClass(res.statusCode)).inc());
    const run = async () => {
      if (!route) throw new HttpError(404, `no route ${url.pathname}`);
      if (req.method !== route.method && !(route.method === 'GET' && req.method === 'HEAD')) {
        res.setHeader('allow', route.method);
        throw new HttpError(405, `use ${route.method} ${url.pathname}`);
      }
      await route.handle(req, res, url);
    };
    run().catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message });
      logger.error({ err, path: url.pathname }, 'request failed');
      sendJson(res, 500, { error: 'internal error' });
    });
  };
}
