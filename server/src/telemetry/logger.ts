import type { IncomingMessage } from 'node:http';
import { context, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger, type LoggerOptions as PinoOptions } from 'pino';
import { redactUrl, scrubSecrets } from './redact.js';

export type { Logger };

/**
 * Field paths whose values never reach the log, wherever a caller puts them: tokens, secrets and
 * credentials. Messages must not interpolate them either (log `{ token }` objects, never strings);
 * `scrubSecrets` is the last line of defence for text that slips through (see redact.ts).
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

export interface LoggerOptions {
  level: string;
  nodeId: string;
  /**
   * Secret values (JWT_SECRET, API_TOKEN as configured) replaced by `[redacted]` wherever they
   * would appear in a line. Leave out secrets generated for a dev run that are meant to be shown.
   */
  secrets?: readonly string[];
}

/**
 * `trace_id`/`span_id` of the span active where the line is logged (only while tracing is on and
 * a span is active: a connect span during an upgrade, a deliver span during a fan-out, ...).
 * A fresh object each time: pino merges the line's fields into it.
 */
function traceFields(): object {
  const span = trace.getSpan(context.active());
  if (span === undefined) return {};
  const c = span.spanContext();
  return { trace_id: c.traceId, span_id: c.spanId };
}

/** A request as logged: method, URL with credential parameters masked, headers (redacted by path). */
function requestSerializer(req: IncomingMessage): object {
  return {
    method: req.method,
    url: redactUrl(req.url ?? ''),
    headers: { ...req.headers },
    remoteAddress: req.socket?.remoteAddress,
  };
}

/**
 * JSON logs to stdout (one object per line), tagged with the node id and, inside a traced
 * operation, with `trace_id` and `span_id`. Credentials are redacted by field path, request URLs
 * have token parameters masked, and the finished line is scrubbed of secret values and bearer
 * tokens (see redact.ts). Lines go to stdout unless `destination` is given (tests).
 */
export function createLogger(opts: LoggerOptions, destination?: DestinationStream): Logger {
  const secrets = (opts.secrets ?? []).filter((s) => s.length >= 8);
  const options: PinoOptions = {
    level: opts.level,
    base: { node: opts.nodeId },
    redact: { paths: redactedPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: traceFields,
    serializers: { req: requestSerializer, err: pino.stdSerializers.err },
    hooks: { streamWrite: (line) => scrubSecrets(line, secrets) },
  };
  return destination ? pino(options, destination) : pino(options);
}
