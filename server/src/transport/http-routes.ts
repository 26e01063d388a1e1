import { LONGPOLL_PATH, type LongPollSessions } from './longpoll.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { signDevToken } from '../auth/dev-token.js';
import type { Config } from '../config.js';
import type { SwitchboardNode } from '../node.js';
import type { Logger } from '../telemetry/logger.js';
import { metrics, registry } from '../telemetry/metrics.js';
import { handleApiBroadcast } from './api-broadcast.js';
import { handleApiControl, matchControlPath } from './api-control.js';
import { handleApiDrain, type ShareDrainer } from './api-drain.js';
import { handleApiHistory, matchHistoryPath } from './api-history.js';
import { HttpError, lingerIfUnread, sendBody, sendJson, statusClass } from './http-util.js';
import { parseRequestTarget } from './request-target.js';
import type { StaticAsset } from './static-files.js';

export interface RouteDeps {
  config: Config;
  node: SwitchboardNode;
  assets: Map<string, StaticAsset>;
  logger: Logger;
  /** The LongPoll transport (GET and POST on /socket/longpoll), when enabled. */
  longPoll?: LongPollSessions;
  /** This pod's drainer: `POST /api/drain` moves a share of its connections. */
  drainer?: ShareDrainer;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

/** Bounded route label of switchboard_http_requests_total. */
type RouteLabel = 'healthz' | 'readyz' | 'metrics' | 'broadcast' | 'history' | 'control' | 'demo' | 'other';

interface Route {
  method: string;
  label: RouteLabel;
  handle: Handler;
}

/**
 * The operations port (METRICS_PORT), never routed by the Ingress; the kubelet and Prometheus reach it:
 *   GET  /healthz        200 while the process runs (liveness)
 *   GET  /readyz         200 when the broker is connected and the node is not draining, else 503
 *   GET  /metrics        Prometheus text format
 */
export function createOpsRequestHandler(deps: Pick<RouteDeps, 'node' | 'logger'>) {
  const { node, logger } = deps;
  const routes = new Map<string, Route>([
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
  ]);
  return dispatcher(routes, () => undefined, logger);
}

/**
 * The public port (PORT), what the Ingress routes `/socket` and `/api` to:
 *   POST /api/broadcast  server-side publish (Bearer API_TOKEN)
 *   GET  /api/topics/:topic/messages?since=OFFSET&limit=N   history read (Bearer API_TOKEN)
 *   /api/topics, /api/topics/:topic[/presence|/subscribers/:sub], /api/users/:sub/disconnect
 *        the control API (Bearer API_TOKEN; api-control.ts)
 *   POST /api/drain      close a share of this pod's connections with 1012 (Bearer API_TOKEN; api-drain.ts)
 *   GET  /demo/token     demo token, only when `config.demoTokens` (generated secret or DEMO_TOKENS=true)
 *   GET  /, /demo.js, /vendor/phoenix.mjs   demo page and the official client
 * Routed on the raw path: see request-target.ts for what is refused with 400.
 */
export function createRequestHandler(deps: RouteDeps) {
  const { config, node, assets, logger } = deps;
  const routes = new Map<string, Route>([
    [
      '/api/broadcast',
      {
        method: 'POST',
        label: 'broadcast',
        handle: (req, res) =>
          handleApiBroadcast(req, res, {
            apiToken: config.apiToken,
            maxBodyBytes: config.limits.maxFrameBytes,
            publish: async (b) => {
              const decision = await node.offerFromApi(b);
              if (!decision.ok) throw new HttpError(decision.status, decision.reason);
              return decision.publication;
            },
          }),
      },
    ],
  ]);
  const drainer = deps.drainer;
  if (drainer) {
    routes.set('/api/drain', {
      method: 'POST',
      label: 'control',
      handle: (req, res) =>
        handleApiDrain(req, res, {
          apiToken: config.apiToken,
          drainer,
          defaultWindowMs: config.drainWindowMs,
        }),
    });
  }
  if (deps.longPoll) {
    routes.set(LONGPOLL_PATH, { method: '*', label: 'other', handle: deps.longPoll.handle });
  }
  if (config.demoTokens) {
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

  /** The routes with parameters: history, then the control API. */
  const paramRoute = (pathname: string): Route | undefined => {
    const topic = matchHistoryPath(pathname);
    if (topic === null) return controlRoute(pathname);
    const handle: Handler = (req, res, url) => {
      if (topic instanceof HttpError) throw topic;
      return handleApiHistory(req, res, url, topic, {
        apiToken: config.apiToken,
        readSince: (t, since, limit) => node.history.readSince(t, since, limit),
      });
    };
    return { method: 'GET', label: 'history' as const, handle };
  };
  const controlRoute = (pathname: string): Route | undefined => {
    const route = matchControlPath(pathname);
    if (route === null) return undefined;
    const deps = { apiToken: config.apiToken, control: node.control, presence: node.presence };
    const handle: Handler = (req, res, url) => handleApiControl(req, res, url, route, deps);
    return { method: route.method, label: 'control', handle };
  };

  return dispatcher(routes, paramRoute, logger);
}

function dispatcher(
  routes: Map<string, Route>,
  paramRoute: (path: string) => Route | undefined,
  logger: Logger,
) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const target = parseRequestTarget(req.url);
    const path = target instanceof HttpError ? '' : target.path;
    const route = target instanceof HttpError ? undefined : (routes.get(path) ?? paramRoute(path));
    const label: RouteLabel = route?.label ?? 'other';
    lingerIfUnread(req);
    res.once('finish', () => metrics.httpRequests.labels(label, statusClass(res.statusCode)).inc());
    const run = async () => {
      if (target instanceof HttpError) throw target;
      if (!route) throw new HttpError(404, `no route ${path}`);
      if (
        route.method !== '*' &&
        req.method !== route.method &&
        !(route.method === 'GET' && req.method === 'HEAD')
      ) {
        res.setHeader('allow', route.method);
        throw new HttpError(405, `use ${route.method} ${path}`);
      }
      // Only the query is read from the parsed URL; the path was matched raw above.
      await route.handle(req, res, new URL(req.url!, 'http://localhost'));
    };
    run().catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof HttpError) return sendJson(res, err.status, { error: err.message });
      logger.error({ err, path }, 'request failed');
      sendJson(res, 500, { error: 'internal error' });
    });
  };
}
