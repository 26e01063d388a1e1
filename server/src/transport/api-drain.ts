import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAuthorized } from './api-broadcast.js';
import type { ShareRefusal } from './drain.js';
import { HttpError, readBody, sendJson } from './http-util.js';

/** The longest window a share drain may be spread over (10 minutes). */
export const MAX_SHARE_WINDOW_MS = 600_000;
const MAX_BODY_BYTES = 1024;

/**
 * What `POST /api/drain` starts a share drain with: this process's Drainer, or with WORKERS>1 one
 * that asks the primary to have every worker close its share (workers/worker.ts).
 */
export interface ShareDrainer {
  drainShare(
    percent: number,
    windowMs: number,
  ):
    | { closing: number; windowMs: number }
    | ShareRefusal
    | Promise<{ closing: number; windowMs: number } | ShareRefusal>;
}

export interface ShareDrainRequest {
  percent: number;
  windowMs: number;
}

/**
 * `POST /api/drain` with `Authorization: Bearer <API_TOKEN>` and `{"percent": 1-100, "window_ms": N}`
 * (window_ms optional, default DRAIN_WINDOW_MS): this pod closes the oldest `percent` % of its
 * connections with 1012 and a reconnect hint, in paced batches over the window, and stays ready.
 * Sent to one pod (its address, not the Service): a canary or a rebalancer moves sockets with it.
 * 202 `{status, closing, window_ms}`; 409 while the pod shuts down or another share drain runs.
 */
export async function handleApiDrain(
  req: IncomingMessage,
  res: ServerResponse,
  deps: { apiToken: string; drainer: ShareDrainer; defaultWindowMs: number },
): Promise<void> {
  if (!isAuthorized(req.headers.authorization, deps.apiToken)) {
    throw new HttpError(401, 'missing or wrong bearer token: send "Authorization: Bearer <API_TOKEN>"');
  }
  const text = (await readBody(req, MAX_BODY_BYTES)).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'body is not valid JSON: send {"percent": 25, "window_ms": 30000}');
  }
  const { percent, windowMs } = parseShareDrain(parsed, deps.defaultWindowMs);
  const started = await deps.drainer.drainShare(percent, windowMs);
  if (started === 'shutting_down')
    throw new HttpError(409, 'this pod is shutting down: it drains everything');
  if (started === 'busy') {
    throw new HttpError(409, 'a share drain is already running on this pod: wait for it to finish');
  }
  sendJson(res, 202, { status: 'draining', closing: started.closing, window_ms: started.windowMs });
}

/** Validates a drain body; throws HttpError(400) naming the field and the fix. */
export function parseShareDrain(v: unknown, defaultWindowMs: number): ShareDrainRequest {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new HttpError(400, 'body must be a JSON object {"percent": 25, "window_ms": 30000}');
  }
  const fields = new Map(Object.entries(v));
  for (const key of fields.keys()) {
    if (key !== 'percent' && key !== 'window_ms') {
      throw new HttpError(
        400,
        `unknown field ${JSON.stringify(key.slice(0, 64))}: only "percent" and "window_ms"`,
      );
    }
  }
  const percent = fields.get('percent');
  if (!Number.isInteger(percent) || (percent as number) < 1 || (percent as number) > 100) {
    throw new HttpError(400, '"percent" must be a whole number from 1 to 100');
  }
  const window = fields.has('window_ms') ? fields.get('window_ms') : defaultWindowMs;
  if (!Number.isInteger(window) || (window as number) < 0 || (window as number) > MAX_SHARE_WINDOW_MS) {
    throw new HttpError(
      400,
      `"window_ms" must be a whole number of milliseconds from 0 to ${MAX_SHARE_WINDOW_MS}`,
    );
  }
  return { percent: percent as number, windowMs: window as number };
}
