import { randomUUID } from 'node:crypto';
import { MAX_PAYLOAD_DEPTH, exceedsJsonDepth } from '../../protocol/json-depth.js';
import { metrics } from '../../telemetry/metrics.js';
import { startHookSpan } from '../../telemetry/tracing.js';
import { CircuitBreaker } from './breaker.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signHook } from './signature.js';

/** The hooks Switchboard calls (docs/hooks.md); the `hook` field of every request. */
export type HookName = 'connect' | 'join' | 'push' | 'publish';

/** Why a call produced no usable answer (the `outcome` label of switchboard_hook_requests_total). */
export type HookFailure = 'timeout' | 'unavailable' | 'http_error' | 'invalid' | 'busy' | 'breaker_open';

export type HookCallResult<T> = { ok: true; answer: T } | { ok: false; failure: HookFailure; reason: string };

/** Reads a backend's answer (a JSON object) into what the caller needs; null when it does not fit. */
export type AnswerParser<T> = (answer: Record<string, unknown>) => T | null;

export interface HookClientOptions {
  url: string;
  /** HOOKS_SECRET: the HMAC key; every request is signed with it. */
  secret: string;
  timeoutMs: number;
  /** Requests in flight at once on this node; one more is answered `backend busy` at once. */
  concurrency: number;
  maxResponseBytes: number;
  breakerFailures: number;
  breakerCooldownMs: number;
  nodeId: string;
}

/** What the client sees for each failure: a short reason, never the backend's own text. */
export const CLIENT_REASONS: Readonly<Record<HookFailure, string>> = Object.freeze({
  timeout: 'backend unavailable',
  unavailable: 'backend unavailable',
  breaker_open: 'backend unavailable',
  busy: 'backend busy',
  http_error: 'backend error',
  invalid: 'backend error',
});

/** Waits before the one retry of a request that never reached the backend (connection refused). */
const RETRY_DELAY_MS = 100;

/**
 * Calls the team's backend: POST of a signed JSON body, bounded in time, concurrency and answer
 * size, behind a circuit breaker. Only a request that provably never reached the backend
 * (connection refused) is retried, once: any other failure may have run the backend's code.
 */
export class HookClient {
  private inFlight = 0;
  private readonly breaker: CircuitBreaker;

  constructor(private readonly opts: HookClientOptions) {
    this.breaker = new CircuitBreaker(opts.breakerFailures, opts.breakerCooldownMs);
  }

  async call<T>(
    hook: HookName,
    fields: Record<string, unknown>,
    parse: AnswerParser<T>,
  ): Promise<HookCallResult<T>> {
    const result = await this.attempt(hook, fields, parse);
    metrics.hookRequests.labels(hook, result.ok ? 'ok' : result.failure).inc();
    metrics.hookBreakerOpen.set(this.breaker.state() === 'open' ? 1 : 0);
    return result;
  }

  private async attempt<T>(
    hook: HookName,
    fields: Record<string, unknown>,
    parse: AnswerParser<T>,
  ): Promise<HookCallResult<T>> {
    if (this.inFlight >= this.opts.concurrency) return failure('busy');
    if (!this.breaker.allow()) return failure('breaker_open');
    this.inFlight++;
    const span = startHookSpan(hook, typeof fields.topic === 'string' ? fields.topic : '');
    const stop = metrics.hookDuration.startTimer({ hook });
    try {
      const body = JSON.stringify({
        version: 1,
        hook,
        id: randomUUID(),
        node: this.opts.nodeId,
        time: new Date().toISOString(),
        ...fields,
      });
      let posted = await this.post(hook, body, span.traceparent);
      if (!posted.ok && posted.failure === 'unavailable' && posted.refused) {
        await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
        posted = await this.post(hook, body, span.traceparent);
      }
      const answer = posted.ok ? parse(posted.answer) : null;
      const result: HookCallResult<T> =
        answer !== null ? { ok: true, answer } : failure(posted.ok ? 'invalid' : posted.failure);
      if (result.ok) this.breaker.succeeded();
      else this.breaker.failed();
      span.end(result.ok ? 'ok' : result.failure);
      return result;
    } finally {
      stop();
      this.inFlight--;
    }
  }

  private async post(
    hook: HookName,
    body: string,
    traceparent: string | undefined,
  ): Promise<
    { ok: true; answer: Record<string, unknown> } | { ok: false; failure: HookFailure; refused: boolean }
  > {
    const timestamp = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'switchboard-hooks/1',
      'x-switchboard-hook': hook,
      [TIMESTAMP_HEADER]: String(timestamp),
      [SIGNATURE_HEADER]: signHook(this.opts.secret, timestamp, body),
    };
    if (traceparent) headers.traceparent = traceparent;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.opts.timeoutMs);
    try {
      const res = await fetch(this.opts.url, { method: 'POST', headers, body, signal: abort.signal });
      const text = await readBounded(res, this.opts.maxResponseBytes, abort);
      if (text === null) return { ok: false, failure: 'invalid', refused: false };
      if (res.status < 200 || res.status > 299) return { ok: false, failure: 'http_error', refused: false };
      const answer = parseObject(text);
      if (answer === null) return { ok: false, failure: 'invalid', refused: false };
      return { ok: true, answer };
    } catch (err) {
      if (abort.signal.reason === OVERSIZED) return { ok: false, failure: 'invalid', refused: false };
      if (abort.signal.aborted) return { ok: false, failure: 'timeout', refused: false };
      return { ok: false, failure: 'unavailable', refused: causeCode(err) === 'ECONNREFUSED' };
    } finally {
      clearTimeout(timer);
    }
  }
}

function failure(f: HookFailure): { ok: false; failure: HookFailure; reason: string } {
  return { ok: false, failure: f, reason: CLIENT_REASONS[f] };
}

/** The abort reason of an answer larger than HOOKS_MAX_RESPONSE_BYTES (not a timeout). */
const OVERSIZED = Symbol('oversized answer');

/** The body as text, or null when it is larger than `max` bytes (the request is aborted then). */
async function readBounded(res: Response, max: number, abort: AbortController): Promise<string | null> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) {
    abort.abort(OVERSIZED);
    return null;
  }
  if (!res.body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Uint8Array).byteLength;
    if (size > max) {
      abort.abort(OVERSIZED);
      return null;
    }
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A JSON object, or null for anything else (garbage, arrays, invalid UTF-8 replaced and failing). */
function parseObject(text: string): Record<string, unknown> | null {
  // The answer object is one level; what it carries (payloads, meta) gets the payload depth bound.
  if (exceedsJsonDepth(text, MAX_PAYLOAD_DEPTH + 2)) return null;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function causeCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown } } | null)?.cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}
