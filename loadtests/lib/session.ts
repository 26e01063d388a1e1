/**
 * Steps the scenarios share: open a socket for a VU, wait with an early exit when the socket
 * closes, and back off after a failure so a broken server is not hammered by a tight loop.
 */
import type { LoadConfig } from './config.js';
import { sleep, type Engine, type VuContext } from './engine.js';
import { PhoenixSocket, type ProtocolMetrics } from './phoenix.js';

/** The token of VU `vu` (1-based): TOKENS are handed out round-robin. */
export function tokenFor(config: LoadConfig, vu: number): string {
  return config.tokens[(vu - 1) % config.tokens.length] ?? '';
}

/**
 * The endpoint of VU `vu` (1-based). VUs of one room are dealt to the endpoints in turn (VU n is in
 * room (n - 1) % ROOMS), so with several endpoints every room has members on several nodes and the
 * publishers' messages cross nodes.
 */
export function urlFor(config: LoadConfig, vu: number): string {
  return config.urls[Math.floor((vu - 1) / config.rooms) % config.urls.length] ?? config.url;
}

/** The topic of room `room`. */
export function roomTopic(config: LoadConfig, room: number): string {
  return `${config.topicPrefix}-${room}`;
}

/** Opens the VU's socket; undefined (after a back-off bounded by the time left) when that fails. */
export async function openFor(
  engine: Engine,
  metrics: ProtocolMetrics,
  config: LoadConfig,
  vu: VuContext,
): Promise<PhoenixSocket | undefined> {
  try {
    return await PhoenixSocket.open(engine, metrics, {
      url: urlFor(config, vu.vu),
      token: tokenFor(config, vu.vu),
      timeoutMs: config.timeoutMs,
      heartbeatMs: config.heartbeatMs,
    });
  } catch {
    await backOff(engine, vu);
    return undefined;
  }
}

/** Waits up to a second (never past the scenario's end) after a failure. */
export function backOff(engine: Engine, vu: VuContext): Promise<void> {
  return sleep(engine, Math.min(1000, Math.max(0, vu.remainingMs())));
}

/** Waits `ms`, or less if the socket closes first; resolves true when the full time passed. */
export async function holdOpen(engine: Engine, socket: PhoenixSocket, ms: number): Promise<boolean> {
  let timer: unknown;
  const elapsed = new Promise<boolean>((resolve) => {
    timer = engine.setTimeout(() => resolve(true), Math.max(0, ms));
  });
  const result = await Promise.race([elapsed, socket.closed().then(() => false)]);
  engine.clearTimeout(timer);
  return result;
}
