// Helpers around the OFFICIAL `phoenix` client (and a raw `ws` client) for e2e tests.
// Every wait is bounded, so a broken server fails a test instead of hanging it.
import { Presence, Socket, type Channel, type SocketConnectOption } from 'phoenix';
import { WebSocket } from 'ws';

export { Presence, Socket, type Channel };

/** Rejects after `ms` with `what` in the message. */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Polls `check` until it returns a truthy value (bounded); resolves with that value. */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A phoenix Socket using `ws` as transport (Node has no usable global WebSocket for it). */
export function phoenixSocket(url: string, opts: Partial<SocketConnectOption> = {}): Socket {
  return new Socket(url, {
    transport: WebSocket as unknown as SocketConnectOption['transport'],
    reconnectAfterMs: () => 100,
    rejoinAfterMs: () => 200,
    ...opts,
  });
}

/** Connects and resolves once the socket is open. */
export async function connect(url: string, opts: Partial<SocketConnectOption> = {}): Promise<Socket> {
  const socket = phoenixSocket(url, opts);
  const opened = new Promise<void>((resolve) => socket.onOpen(() => resolve()));
  socket.connect();
  await within(10_000, `socket open ${url}`, opened);
  return socket;
}

export interface Reply {
  status: 'ok' | 'error' | 'timeout';
  response: unknown;
}

/** Joins and resolves with the reply (ok or error); never rejects on an error reply. */
export function join(channel: Channel, timeoutMs = 10_000): Promise<Reply> {
  return within(
    timeoutMs + 1000,
    `join ${channel.topic}`,
    new Promise<Reply>((resolve) => {
      channel
        .join(timeoutMs)
        .receive('ok', (response: unknown) => resolve({ status: 'ok', response }))
        .receive('error', (response: unknown) => resolve({ status: 'error', response }))
        .receive('timeout', () => resolve({ status: 'timeout', response: null }));
    }),
  );
}

/** Pushes and resolves with the reply. */
export function push(channel: Channel, event: string, payload: object, timeoutMs = 10_000): Promise<Reply> {
  return within(
    timeoutMs + 1000,
    `reply to ${event} on ${channel.topic}`,
    new Promise<Reply>((resolve) => {
      channel
        .push(event, payload, timeoutMs)
        .receive('ok', (response: unknown) => resolve({ status: 'ok', response }))
        .receive('error', (response: unknown) => resolve({ status: 'error', response }))
        .receive('timeout', () => resolve({ status: 'timeout', response: null }));
    }),
  );
}

/** Collects every `event` the channel receives. */
export function collect<T = unknown>(channel: Channel, event: string): T[] {
  const seen: T[] = [];
  channel.on(event, (payload: T) => {
    seen.push(payload);
  });
  return seen;
}

/** Resolves with the next `event` on the channel. */
export function next<T = unknown>(channel: Channel, event: string, ms = 10_000): Promise<T> {
  return within(
    ms,
    `${event} on ${channel.topic}`,
    new Promise<T>((resolve) => {
      const ref = channel.on(event, (payload: T) => {
        channel.off(event, ref);
        resolve(payload);
      });
    }),
  );
}

/** Presence keys currently listed, sorted. */
export function presentUsers(presence: Presence): string[] {
  return presence.list((key: string) => key).sort();
}
