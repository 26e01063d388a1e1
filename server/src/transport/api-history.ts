import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_FIELD_BYTES } from '../protocol/message.js';
import type { HistoryPage } from '../store/index.js';
import { isAuthorized } from './api-broadcast.js';
import { HttpError, sendJson } from './http-util.js';

/** Messages per page when `limit` is not given, and the most a page may hold. */
export const HISTORY_PAGE_DEFAULT = 100;
export const HISTORY_PAGE_MAX = 1000;

const PATH = /^\/api\/topics\/([^/]+)\/messages$/;

/** The topic of `/api/topics/:topic/messages` (percent-decoded), or null when the path is not that route. */
export function matchHistoryPath(pathname: string): string | null | HttpError {
  const m = PATH.exec(pathname);
  if (!m) return null;
  let topic: string;
  try {
    topic = decodeURIComponent(m[1]!);
  } catch {
    return new HttpError(
      400,
      'topic in the path is not valid percent-encoding: encode it with encodeURIComponent',
    );
  }
  if (topic.length === 0 || Buffer.byteLength(topic) > MAX_FIELD_BYTES) {
    return new HttpError(400, `topic must be a non-empty string of at most ${MAX_FIELD_BYTES} bytes`);
  }
  return topic;
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
  const since = wholeNumber(url, 'since', 0, 0, Number.MAX_SAFE_INTEGER);
  const limit = wholeNumber(url, 'limit', HISTORY_PAGE_DEFAULT, 1, HISTORY_PAGE_MAX);
  let page: HistoryPage;
  try {
    page = await deps.readSince(topic, since, limit);
  } catch (err) {
    throw new HttpError(503, `history is unavailable right now (${(err as Error).message}); retry later`);
  }
  const messages: HistoryMessage[] = page.publications.map((p) => {
    const m: HistoryMessage = {
      offset: p.offset,
      event: p.event,
      payload: p.payload,
      publishedAt: Number.isFinite(p.publishedAt) ? new Date(p.publishedAt).toISOString() : null,
    };
    if (p.binary) m.binary = true;
    return m;
  });
  sendJson(res, 200, { epoch: page.epoch, offset: page.offset, complete: page.complete, messages });
}

function wholeNumber(url: URL, name: string, def: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return def;
  const n = /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new HttpError(
      400,
      `${name}=${JSON.stringify(raw)} is invalid: ${name} must be a whole number from ${min} to ${max}` +
        (name === 'since' ? ' (the offset of the last message you have; 0 for all)' : ''),
    );
  }
  return n;
}
