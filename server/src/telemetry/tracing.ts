import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  diag,
  trace,
  DiagLogLevel,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Logger } from './logger.js';

/**
 * OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set.
 *
 * Spans (names are fixed; the topic is an attribute, never part of a name or a metric label):
 *   connect  SERVER    one WebSocket upgrade, with its result (accepted, unauthorized, ...)
 *   join     SERVER    one channel join, until its reply
 *   publish  PRODUCER  a publication accepted by this node; its context travels in
 *                      `Publication.traceparent` (W3C trace context) through Redis
 *   sequence CLIENT    child of publish: history append (on Redis: the script that also publishes)
 *   broker publish CLIENT  child of publish: hand-over to the broker (memory sequencer only)
 *   deliver  CONSUMER  on every node that fans the publication out locally, child of `publish`
 *   hook     CLIENT    a call to the team's backend (docs/hooks.md); its traceparent goes in the request
 *
 * When tracing is off, every entry point checks one module variable and returns either the call
 * it wraps or the shared NOOP handle: no span objects, no context switches, nothing per message.
 * Attributes hold topics, events, node ids, offsets and results; never payloads, tokens or user ids.
 */

/** What a call site does with a span it started: end it once, with a bounded result. */
export interface SpanHandle {
  /** Ends the span; `result` is a bounded word (ok, unauthorized, ...), `err` marks it failed. */
  end(result?: string, err?: unknown): void;
}

/** The handle returned while tracing is off (and for spans nobody records). */
export const NOOP_SPAN: SpanHandle = Object.freeze({ end() {} });

export interface TracingOptions {
  /** OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://jaeger:4318; undefined disables tracing. */
  endpoint?: string;
  /** NODE_ID, exported as the `service.instance.id` resource attribute. */
  nodeId: string;
  logger: Logger;
}

const SHUTDOWN_TIMEOUT_MS = 5000;
const propagator = new W3CTraceContextPropagator();

let tracer: Tracer | null = null;
let provider: NodeTracerProvider | null = null;

/** True once `startTracing` was given an endpoint. */
export function tracingEnabled(): boolean {
  return tracer !== null;
}

/** The OTLP/HTTP traces URL for a base endpoint (`/v1/traces` appended, as the OTLP spec says). */
export function tracesUrl(endpoint: string): string {
  return new URL('v1/traces', endpoint.endsWith('/') ? endpoint : `${endpoint}/`).toString();
}

/**
 * Starts tracing when `endpoint` is set: NodeTracerProvider (AsyncLocalStorage context, W3C
 * propagation) + BatchSpanProcessor (OTEL_BSP_* apply) + OTLP/HTTP exporter, resource
 * `service.name=switchboard`, `service.instance.id=<NODE_ID>`. Returns whether it is on.
 */
export function startTracing(opts: TracingOptions): boolean {
  if (!opts.endpoint || provider !== null) return provider !== null;
  diag.setLogger(throttledDiagLogger(opts.logger), DiagLogLevel.WARN);
  const exporter = new OTLPTraceExporter({ url: tracesUrl(opts.endpoint) });
  const attributes: Attributes = {
    [ATTR_SERVICE_NAME]: 'switchboard',
    'service.instance.id': opts.nodeId,
  };
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes(attributes),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  provider.register();
  tracer = trace.getTracer('switchboard');
  opts.logger.info({ url: tracesUrl(opts.endpoint) }, 'tracing: exporting spans over OTLP/HTTP');
  return true;
}

/**
 * Flushes buffered spans and stops the exporter (bounded: at most 5 s, the collector may be gone).
 * Call before exiting; a no-op when tracing is off.
 */
export async function shutdownTracing(): Promise<void> {
  const p = provider;
  if (p === null) return;
  provider = null;
  tracer = null;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.shutdown().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, SHUTDOWN_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
}

/** Starts a span (parent: the active context unless `parent` is given) and returns it with its context. */
function begin(
  t: Tracer,
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  parent: Context = context.active(),
): { span: Span; ctx: Context } {
  const span = t.startSpan(name, { kind, attributes }, parent);
  return { span, ctx: trace.setSpan(parent, span) };
}

/** Ends `span` with a result attribute and, for `err`, an error status. */
export function endSpan(span: Span, resultKey: string, result?: string, err?: unknown): void {
  if (result !== undefined) span.setAttribute(resultKey, result);
  if (err !== undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(err) });
    if (err instanceof Error) span.recordException(safeException(err));
  }
  span.end();
}

/** The connect span's handle: ends with the upgrade result and the HTTP status answered. */
export interface ConnectSpanHandle {
  end(result: string, status: number, err?: unknown): void;
}

const NOOP_CONNECT: ConnectSpanHandle = Object.freeze({ end() {} });

/**
 * Runs `fn` inside a `connect` span (active, so log lines written meanwhile carry its ids), with
 * the handle that ends it. `path` is the request path (never the query: it may hold a token).
 */
export function withConnectSpan<T>(path: string, fn: (span: ConnectSpanHandle) => T): T {
  const t = tracer;
  if (t === null) return fn(NOOP_CONNECT);
  const { span, ctx } = begin(t, 'connect', SpanKind.SERVER, {
    'http.request.method': 'GET',
    'url.path': path.length > 128 ? path.slice(0, 128) : path,
  });
  const handle: ConnectSpanHandle = {
    end: (result, status, err) => {
      span.setAttribute('http.response.status_code', status);
      endSpan(span, 'switchboard.connect.result', result, err);
    },
  };
  return context.with(ctx, fn, undefined, handle);
}

/** Starts a `join` span for `topic`; end it with the join result (ok, unauthorized, unmatched, ...). */
export function startJoinSpan(topic: string): SpanHandle {
  const t = tracer;
  if (t === null) return NOOP_SPAN;
  const { span } = begin(t, 'join', SpanKind.SERVER, {
    'messaging.system': 'switchboard',
    'messaging.operation.type': 'receive',
    'messaging.destination.name': topic,
  });
  return { end: (result, err) => endSpan(span, 'switchboard.join.result', result, err) };
}

/** A hook call's span handle, with the `traceparent` its HTTP request carries to the backend. */
export interface HookSpanHandle extends SpanHandle {
  readonly traceparent: string | undefined;
}

const NOOP_HOOK: HookSpanHandle = Object.freeze({ end() {}, traceparent: undefined });

/**
 * Starts a CLIENT `hook` span (child of the active context) for a call to the team's backend; its
 * `traceparent` goes in the request, so the backend's own spans continue the same trace.
 */
export function startHookSpan(hook: string, topic: string): HookSpanHandle {
  const t = tracer;
  if (t === null) return NOOP_HOOK;
  const { span, ctx } = begin(t, 'hook', SpanKind.CLIENT, {
    'switchboard.hook': hook,
    'messaging.destination.name': topic,
  });
  return {
    traceparent: traceparentOf(ctx),
    end: (result, err) => endSpan(span, 'switchboard.hook.result', result, err),
  };
}

/** The fields of a publication the publish/deliver spans read and write. */
export interface TracedPublication {
  topic: string;
  event: string;
  origin: string;
  publishedAt: number;
  offset?: number;
  binary?: boolean;
  traceparent?: string;
}

/**
 * Starts the `publish` span of `pub` (child of the active context, e.g. an API request) and writes
 * its W3C `traceparent` into `pub`, so the nodes that deliver it continue the same trace. Returns
 * the publish span handle and its context (for child spans), or null when tracing is off.
 */
export function startPublishSpan(pub: TracedPublication): { span: Span; ctx: Context } | null {
  const t = tracer;
  if (t === null) return null;
  const started = begin(t, 'publish', SpanKind.PRODUCER, {
    'messaging.system': 'switchboard',
    'messaging.operation.type': 'send',
    'messaging.destination.name': pub.topic,
    'switchboard.event': pub.event,
    'switchboard.binary': pub.binary === true,
  });
  pub.traceparent = traceparentOf(started.ctx);
  return started;
}

/** Starts a CLIENT child span of `parent` (the publish span's context). */
export function startChildSpan(name: string, parent: Context, attributes: Attributes = {}): Span | null {
  const t = tracer;
  if (t === null) return null;
  return t.startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
}

/** The context a publication's `traceparent` carries (ROOT when absent or malformed). */
export function contextOf(traceparent: string | undefined): Context {
  if (traceparent === undefined) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, { traceparent }, defaultTextMapGetter);
}

/** The W3C `traceparent` of the span active in `ctx` (undefined when none). */
export function traceparentOf(ctx: Context): string | undefined {
  const carrier: Record<string, string> = {};
  propagator.inject(ctx, carrier, defaultTextMapSetter);
  return carrier.traceparent;
}

/**
 * Runs `deliver(pub)` inside a `deliver` span, a child of the publish span named by
 * `pub.traceparent` (another node's, usually). Without tracing or a traceparent: just calls it.
 */
export function deliverTraced<P extends TracedPublication>(pub: P, deliver: (pub: P) => void): void {
  const t = tracer;
  if (t === null || pub.traceparent === undefined) return deliver(pub);
  const attributes: Attributes = {
    'messaging.system': 'switchboard',
    'messaging.operation.type': 'process',
    'messaging.destination.name': pub.topic,
    'switchboard.event': pub.event,
    'switchboard.origin_node': pub.origin,
    'switchboard.delivery_lag_ms': Math.max(0, Date.now() - pub.publishedAt),
  };
  if (pub.offset !== undefined) attributes['switchboard.offset'] = pub.offset;
  const { span, ctx } = begin(t, 'deliver', SpanKind.CONSUMER, attributes, contextOf(pub.traceparent));
  try {
    context.with(ctx, deliver, undefined, pub);
  } catch (err) {
    endSpan(span, 'switchboard.deliver.result', 'error', err);
    throw err;
  }
  span.end();
}

function errorMessage(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.length > 200 ? `${msg.slice(0, 200)}...` : msg;
}

/** The exception event keeps the error's name and bounded message; no stack (it holds file paths). */
function safeException(err: Error): { name: string; message: string } {
  return { name: err.name, message: errorMessage(err) };
}

/** OTel's own warnings (export failures) as log lines, at most one per 30 s. */
function throttledDiagLogger(logger: Logger) {
  let last = 0;
  let suppressed = 0;
  const warn = (message: string, ...args: unknown[]) => {
    const now = Date.now();
    if (now - last < 30_000) {
      suppressed++;
      return;
    }
    last = now;
    const detail = args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
    logger.warn({ suppressed, detail: detail.slice(0, 500) }, `tracing: ${message}`);
    suppressed = 0;
  };
  const ignore = () => undefined;
  return { error: warn, warn, info: ignore, debug: ignore, verbose: ignore };
}
