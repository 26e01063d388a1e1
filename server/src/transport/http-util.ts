import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { MAX_FIELD_BYTES } from '../protocol/message.js';

/** An HTTP error answered with `status` and a JSON `{ "error": message }` body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendJsonText(res, status, JSON.stringify(body));
}

/** Sends JSON already encoded (e.g. assembled around verbatim payload texts). */
export function sendJsonText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

export function sendBody(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  contentType: string,
): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * For a request whose body is not wanted (an upgrade, a route that takes none, a refusal): how long
 * and how much of it is still read and dropped after the answer. Closing on unread bytes makes the
 * kernel send a reset, which can reach the peer before it has read the answer; behind nginx that
 * answer becomes a 502 (nginx's own `lingering_close` does the same).
 */
export const LINGER_MS = 2000;
export const LINGER_MAX_BYTES = 2 * 1024 * 1024;

/** Reads the whole body, refusing more than `limit` bytes with 413. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > limit) throw new HttpError(413, `body larger than ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `body larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * Node closes a `Connection: close` request's socket as soon as the answer is written
 * (`socket.destroySoon()`). If the body was not read to its end, the socket then lingers instead
 * (see lingerThenDestroy): the answer goes out at once, the rest of the body is read and dropped.
 */
export function lingerIfUnread(req: IncomingMessage): void {
  const socket = req.socket as Duplex & { destroySoon?: () => void };
  const closeNow = socket.destroySoon;
  if (typeof closeNow !== 'function') return;
  socket.destroySoon = function destroySoonOrLinger(this: Duplex) {
    if (req.complete) return closeNow.call(this);
    this.end();
    lingerThenDestroy(this);
  };
}

/** `2xx`..`5xx`: the bounded label of switchboard_http_requests_total. */
export function statusClass(status: number): string {
  return `${Math.min(5, Math.max(1, Math.floor(status / 100)))}xx`;
}

/** Writes a minimal HTTP error response on a raw socket (upgrade requests) and closes it gently. */
export function rejectUpgrade(
  socket: Duplex,
  status: number,
  reason: string,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${message}\n`;
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  lingerThenDestroy(socket);
}

/** Discards what the peer still sends until it closes, LINGER_MS pass or LINGER_MAX_BYTES arrive. */
export function lingerThenDestroy(socket: Duplex): void {
  let discarded = 0;
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  socket.once('end', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > LINGER_MAX_BYTES) socket.destroy();
  });
  socket.resume();
}

/** A query parameter that must be a whole number from `min` to `max` (`def` when absent); 400 otherwise. */
export function queryWholeNumber(url: URL, name: string, def: number, min: number, max: number): number {
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

/**
 * Decodes one path parameter (a topic or a user id): percent-encoded, non-empty, at most
 * MAX_FIELD_BYTES bytes. Returns the 400 to answer otherwise.
 */
export function decodePathParam(raw: string, name: string): string | HttpError {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    return new HttpError(
      400,
      `${name} in the path is not valid percent-encoding: encode it with encodeURIComponent`,
    );
  }
  if (value.length === 0 || Buffer.byteLength(value) > MAX_FIELD_BYTES) {
    return new HttpError(400, `${name} must be a non-empty string of at most ${MAX_FIELD_BYTES} bytes`);
  }
  return value;
}
