import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HistoryPage } from '../store/index.js';
import { isAuthorized } from './api-broadcast.js';
import { payloadJsonOf } from '../broker/broker.js';
import { HttpError, decodePathParam, queryWholeNumber, sendJsonText } from './http-util.js';

/** Messages per page when `limit` is not given, and the most a page may hold. */
export const HISTORY_PAGE_DEFAULT = 100;
export const HISTORY_PAGE_MAX = 1000;

const PATH = /^\/api\/topics\/([^/]+)\/messages$/;

/** The topic of `/api/topics/:topic/messages` (percent-decoded), or null when the path is not that route. */
export function matchHistoryPath(pathname: string): string | null | HttpError {
  const m = PATH.exec(pathname);
  return m ? decodePathParam(m[1]!, 'topic') : null;
}

/** One message of a history page, as the API returns it. */
export interface HistoryMessage {
  offset: number;
  event: string;
  /** The published payload; for a binary publication, the base64 text of its bytes (and `binary: true`). */
  payload: unknown;
  binary?: true;
  /** When the publishing node accepted it, ISO 8601 (null if unknown). */
  publishedAt: string | null;
}

/**
 * `GET /api/topics/:topic/messages?since=OFFSET&limit=N` with `Authorization: Bearer <API_TOKEN>`:
 * the messages of the topic's current epoch with offset > since (default 0), oldest first, at most
 * `limit` (default 100, max 1000), as `{epoch, offset, complete, messages}`. `offset` is the newest
 * offset of the topic; `complete` is false when history has a hole in the returned range (a dropped
 * or pruned write): what exists is returned anyway. 503 when history cannot be read.
 */
export async function handleApiHistory(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  topic: string,
  deps: { apiToken: string; readSince(topic: string, since: number, limit: number): Promise<HistoryPage> },
): Promise<void> {
  if (!isAuthorized(req.headers.authorization, deps.apiToken)) {
    throw new HttpError(401, 'missing or wrong bearer token: send "Authorization: Bearer <API_TOKEN>"');
  }
  const since = queryWholeNumber(url, 'since', 0, 0, Number.MAX_SAFE_INTEGER);
  const limit = queryWholeNumber(url, 'limit', HISTORY_PAGE_DEFAULT, 1, HISTORY_PAGE_MAX);
  let page: HistoryPage;
  try {
    page = await deps.readSince(topic, since, limit);
  } catch (err) {
    throw new HttpError(503, `history is unavailable right now (${(err as Error).message}); retry later`);
  }
  // Assembled by hand so each payload is the published text verbatim (`1e400` stays `1e400`).
  const messages = page.publications.map((p) => {
    const published = Number.isFinite(p.publishedAt) ? new Date(p.publishedAt).toISOString() : null;
    const payload = p.binary ? JSON.stringify(p.payload) : payloadJsonOf(p);
    return (
      `{"offset":${p.offset},"event":${JSON.stringify(p.event)},"payload":${payload}` +
      `${p.binary ? ',"binary":true' : ''},"publishedAt":${JSON.stringify(published)}}`
    );
  });
  const head = JSON.stringify({ epoch: page.epoch, offset: page.offset, complete: page.complete });
  sendJsonText(res, 200, `${head.slice(0, -1)},"messages":[${messages.join(',')}]}`);
}
