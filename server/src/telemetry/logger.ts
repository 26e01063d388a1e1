import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Field paths whose values never reach the log, wherever a caller puts them: tokens, secrets and
 * credentials. Messages must not interpolate them either (log `{ token }` objects, never strings).
 */
export const redactedPaths = [
  'token',
  '*.token',
  'apiToken',
  '*.apiToken',
  'secret',
  '*.secret',
  'jwtSecret',
  '*.jwtSecret',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers["sec-websocket-protocol"]',
  '*.headers["sec-websocket-protocol"]',
  'headers.cookie',
  '*.headers.cookie',
];

/** JSON logs to stdout (one object per line), tagged with the node id. */
export function createLogger(opts: { level: string; nodeId: string }): Logger {
  return pino({
    level: opts.level,
    base: { node: opts.nodeId },
    redact: { paths: redactedPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
