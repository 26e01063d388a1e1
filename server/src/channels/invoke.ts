import type { ChannelHandler, OutRequest } from './channel.js';
import type { Logger } from '../telemetry/logger.js';
import { metrics } from '../telemetry/metrics.js';

/** The handler callbacks whose failures are counted (label `callback`). */
export type HandlerCallback = 'connect' | 'join' | 'handle_in' | 'handle_out' | 'terminate';

/**
 * Runs a handler callback that may return a value or a promise, and hands its outcome to `done`
 * (synchronously when the callback is synchronous, so sync handlers keep their reply order).
 * A throw or rejection is logged, counted, and handed to `failed`; it never escapes. `bug` gets
 * what `done` or `failed` throw after an asynchronous callback (a synchronous one throws to the caller).
 */
export function invokeHandler<T>(
  callback: HandlerCallback,
  call: () => T | Promise<T>,
  done: (result: T) => void,
  failed: () => void,
  logger: Logger,
  topic: string,
  bug: (err: unknown) => void,
): void {
  const fail = (err: unknown): void => {
    metrics.channelHandlerErrors.labels(callback).inc();
    logger.warn({ err, topic, callback }, 'channel handler failed');
    failed();
  };
  let result: T | Promise<T>;
  try {
    result = call();
  } catch (err) {
    return fail(err);
  }
  if (isPromiseLike(result)) result.then(done, fail).catch(bug);
  else done(result);
}

function isPromiseLike<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

const intercepts = new WeakMap<ChannelHandler, ReadonlySet<string> | undefined>();

/** The events a handler intercepts, as a Set shared by every subscription (undefined: none). */
export function interceptSet(handler: ChannelHandler): ReadonlySet<string> | undefined {
  if (intercepts.has(handler)) return intercepts.get(handler);
  const set =
    typeof handler.handleOut === 'function' && handler.intercept && handler.intercept.length > 0
      ? new Set(handler.intercept)
      : undefined;
  intercepts.set(handler, set);
  return set;
}

let lastOutFailureLog = 0;

/**
 * Runs `handleOut` for one subscriber: the payload to send (`req.payload` itself for the shared
 * frame) or null to drop. A throw, a promise, or a result that is neither null nor a JSON object
 * drops the broadcast for that subscriber and counts as a failure; logged at most once a second
 * (it runs once per delivery, a broken one would flood the log).
 */
export function runHandleOut(handler: ChannelHandler, req: OutRequest, logger: Logger): unknown {
  let out: unknown;
  let err: unknown;
  try {
    out = handler.handleOut!(req);
    if (out === null || out === req.payload || (isObject(out) && !isPromiseLike(out))) return out;
    err = new TypeError('handleOut must return the payload, a JSON object or null (synchronously)');
  } catch (e) {
    err = e;
  }
  metrics.channelHandlerErrors.labels('handle_out').inc();
  const now = Date.now();
  if (now - lastOutFailureLog >= 1000) {
    lastOutFailureLog = now;
    logger.warn({ err, topic: req.topic, callback: 'handle_out' }, 'channel handler failed');
  }
  return null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}
