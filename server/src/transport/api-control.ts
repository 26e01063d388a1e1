import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ControlPlane } from '../cluster/control-plane.js';
import type { PresenceTracker } from '../presence/presence.js';
import { MAX_FIELD_BYTES } from '../protocol/message.js';
import { isAuthorized } from './api-broadcast.js';
import { HttpError, decodePathParam, queryWholeNumber, sendJson } from './http-util.js';

/** Topics per page of `GET /api/topics` when `limit` is not given, and the most a page may hold. */
export const TOPICS_PAGE_DEFAULT = 100;
export const TOPICS_PAGE_MAX = 1000;

type ControlKind = 'topics' | 'occupancy' | 'presence' | 'unsubscribe' | 'disconnect';

const PATHS: { kind: ControlKind; method: string; path: RegExp; params: string[] }[] = [
  { kind: 'topics', method: 'GET', path: /^\/api\/topics$/, params: [] },
  { kind: 'occupancy', method: 'GET', path: /^\/api\/topics\/([^/]+)$/, params: ['topic'] },
  { kind: 'presence', method: 'GET', path: /^\/api\/topics\/([^/]+)\/presence$/, params: ['topic'] },
  {
    kind: 'unsubscribe',
    method: 'DELETE',
    path: /^\/api\/topics\/([^/]+)\/subscribers\/([^/]+)$/,
    params: ['topic', 'sub'],
  },
  { kind: 'disconnect', method: 'POST', path: /^\/api\/users\/([^/]+)\/disconnect$/, params: ['sub'] },
];

export interface ControlRoute {
  kind: ControlKind;
  method: string;
  /** Percent-decoded path parameters (topic, sub), or the 400 to answer. */
  params: string[] | HttpError;
}

/** The control route of `pathname`, or null when it is none of them. */
export function matchControlPath(pathname: string): ControlRoute | null {
  for (const p of PATHS) {
    const m = p.path.exec(pathname);
    if (!m) continue;
    const params: string[] = [];
    for (const [i, name] of p.params.entries()) {
      const v = decodePathParam(m[i + 1]!, name);
      if (v instanceof HttpError) return { kind: p.kind, method: p.method, params: v };
      params.push(v);
    }
    return { kind: p.kind, method: p.method, params };
  }
  return null;
}

export interface ControlDeps {
  apiToken: string;
  control: ControlPlane;
  presence: PresenceTracker;
}

/**
 * The control API (docs/api.md, docs/api.openapi.yaml), Bearer API_TOKEN like the publish API:
 *   GET    /api/topics?prefix=P&limit=N         active topics, busiest first, with subscriber counts
 *   GET    /api/topics/:topic                   subscribers of one topic over every node
 *   GET    /api/topics/:topic/presence          presence state of a topic
 *   DELETE /api/topics/:topic/subscribers/:sub  takes a user out of a topic on every node (phx_close)
 *   POST   /api/users/:sub/disconnect           closes every connection of a user (4003) on every node
 * Counts come from a census of the nodes alive (`nodes`, `complete`); commands are carried by the
 * broker (at-most-once) and answered 202; 503 when the broker cannot carry them.
 */
export async function handleApiControl(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  route: ControlRoute,
  deps: ControlDeps,
): Promise<void> {
  if (!isAuthorized(req.headers.authorization, deps.apiToken)) {
    throw new HttpError(401, 'missing or wrong bearer token: send "Authorization: Bearer <API_TOKEN>"');
  }
  if (route.params instanceof HttpError) throw route.params;
  const [first = '', second = ''] = route.params;
  switch (route.kind) {
    case 'topics': {
      const prefix = url.searchParams.get('prefix') ?? '';
      if (Buffer.byteLength(prefix) > MAX_FIELD_BYTES) {
        throw new HttpError(400, `prefix must be at most ${MAX_FIELD_BYTES} bytes`);
      }
      const limit = queryWholeNumber(url, 'limit', TOPICS_PAGE_DEFAULT, 1, TOPICS_PAGE_MAX);
      const census = await unavailableOnError(deps.control.census({ prefix }), 'census');
      const topics = [...census.counts]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, limit)
        .map(([topic, subscribers]) => ({ topic, subscribers }));
      return sendJson(res, 200, {
        nodes: census.nodes,
        complete: census.complete,
        total: census.counts.size,
        topics,
      });
    }
    case 'occupancy': {
      const census = await unavailableOnError(deps.control.census({ topic: first }), 'census');
      return sendJson(res, 200, {
        topic: first,
        subscribers: census.counts.get(first) ?? 0,
        nodes: census.nodes,
        complete: census.complete,
      });
    }
    case 'presence': {
      const presence = await unavailableOnError(deps.presence.list(first), 'presence');
      return sendJson(res, 200, { topic: first, presence });
    }
    case 'unsubscribe':
      await unavailableOnError(deps.control.unsubscribeUser(second, first), 'broker');
      return sendJson(res, 202, { status: 'accepted', topic: first, sub: second });
    case 'disconnect':
      await unavailableOnError(deps.control.disconnectUser(first), 'broker');
      return sendJson(res, 202, { status: 'accepted', sub: first });
  }
}

async function unavailableOnError<T>(p: Promise<T>, what: string): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw new HttpError(
      503,
      `${what} is unavailable right now (${(err as Error).message}); what this node could do is done, retry later`,
    );
  }
}
