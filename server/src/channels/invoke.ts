import type { Logger } from '../telemetry/logger.js';
import { metrics } from '../telemetry/metrics.js';

/** The handler callbacks whose failures are counted (label `callback`). */
export type HandlerCallback = 'join' | 'handle_in';

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
