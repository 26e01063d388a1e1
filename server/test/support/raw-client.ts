// A raw `ws` client for tests that need to see exact frames, close codes or misbehave on purpose.
import { WebSocket, type ClientOptions } from 'ws';
import { within } from './phoenix.js';

export interface RawClient {
  ws: WebSocket;
  /** Every frame received: text frames parsed as JSON arrays, binary frames as Buffers. */
  frames: (unknown[] | Buffer)[];
  send(frame: unknown[]): void;
  /** Resolves with the first received frame (present or future) matching `pred`; rejects once closed without one. */
  waitFor(pred: (f: unknown[]) => boolean, what: string, ms?: number): Promise<unknown[]>;
  waitForBinary(what: string, ms?: number): Promise<Buffer>;
  /** Resolves with the close code (and reason). */
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens `ws://.../socket/websocket?vsn=2.0.0&token=...` (rejects with the HTTP status on refusal). */
export async function openRaw(
  socketUrl: string,
  token: string | null,
  opts: ClientOptions & { protocols?: string[]; query?: Record<string, string> } = {},
): Promise<RawClient> {
  const url = new URL(`${socketUrl}/websocket`);
  url.searchParams.set('vsn', '2.0.0');
  if (token !== null) url.searchParams.set('token', token);
  for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
  const ws = new WebSocket(url, opts.protocols ?? [], opts);
  const frames: (unknown[] | Buffer)[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data: Buffer, isBinary) => {
    frames.push(isBinary ? data : (JSON.parse(data.toString()) as unknown[]));
    for (const w of [...waiters]) w();
  });
  let isClosed = false;
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => {
      isClosed = true;
      resolve({ code, reason: reason.toString() });
      for (const w of [...waiters]) w();
    }),
  );
  await within(
    10_000,
    'raw websocket open',
    new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new HttpRefusal(res.statusCode ?? 0)));
      ws.once('error', reject);
    }),
  );
  ws.on('error', () => undefined);
  const waitForAny = <T>(find: () => T | undefined, what: string, ms: number) =>
    within(
      ms,
      what,
      new Promise<T>((resolve, reject) => {
        const check = () => {
          const hit = find();
          if (hit !== undefined) {
            waiters.splice(waiters.indexOf(check), 1);
            resolve(hit);
          } else if (isClosed) {
            waiters.splice(waiters.indexOf(check), 1);
            reject(new Error(`connection closed while waiting for ${what}`));
          }
        };
        waiters.push(check);
        check();
      }),
    );
  return {
    ws,
    frames,
    closed,
    send: (frame) => ws.send(JSON.stringify(frame)),
    waitFor: (pred, what, ms = 10_000) =>
      waitForAny(() => frames.find((f): f is unknown[] => Array.isArray(f) && pred(f)), what, ms),
    waitForBinary: (what, ms = 10_000) =>
      waitForAny(() => frames.find((f) => Buffer.isBuffer(f)) as Buffer, what, ms),
  };
}

/** The HTTP status of a refused upgrade. */
export class HttpRefusal extends Error {
  constructor(readonly status: number) {
    super(`upgrade refused with HTTP ${status}`);
  }
}

/** Resolves with the HTTP status an upgrade attempt got (101 when it opened). */
export async function upgradeStatus(
  socketUrl: string,
  token: string | null,
  opts: ClientOptions & { protocols?: string[] } = {},
): Promise<number> {
  try {
    const c = await openRaw(socketUrl, token, opts);
    c.ws.close();
    return 101;
  } catch (err) {
    if (err instanceof HttpRefusal) return err.status;
    throw err;
  }
}
