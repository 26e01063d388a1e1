import { randomUUID } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
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

  private readonly target: URL;
  private readonly request: typeof httpRequest;
  private readonly agent: HttpAgent;

  constructor(private readonly opts: HookClientOptions) {
    this.breaker = new CircuitBreaker(opts.breakerFailures, opts.breakerCooldownMs);
    this.target = new URL(opts.url);
    const https = this.target.protocol === 'https:';
    this.request = https ? httpsRequest : httpRequest;
    // Connections kept open between calls, at most one per call in flight.
    const agentOptions = { keepAlive: true, maxSockets: opts.concurrency };
    this.agent = https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
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

  /**
   * One POST over a keep-alive connection (node:http: several times cheaper per call than `fetch`
   * here, measured by bench/join-hook.ts). Resolves, never rejects.
   */
  private post(hook: HookName, body: string, traceparent: string | undefined): Promise<Posted> {
    const timestamp = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'switchboard-hooks/1',
      'x-switchboard-hook': hook,
      [TIMESTAMP_HEADER]: String(timestamp),
      [SIGNATURE_HEADER]: signHook(this.opts.secret, timestamp, body),
    };
    if (traceparent) headers.traceparent = traceparent;
    const max = this.opts.maxResponseBytes;
    return new Promise<Posted>((resolve) => {
      let settled = false;
      const done = (r: Posted) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
        // Anything unread (too large, timed out) would leave the connection unusable: drop it.
        if (!r.ok) req.destroy();
      };
      const req = this.request(this.target, { method: 'POST', headers, agent: this.agent });
      const timer = setTimeout(() => done(failed('timeout')), this.opts.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) =>
        done(failed('unavailable', err.code === 'ECONNREFUSED')),
      );
      req.on('response', (res) => {
        if (Number(res.headers['content-length']) > max) return done(failed('invalid'));
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > max) return done(failed('invalid'));
          chunks.push(chunk);
        });
        res.on('error', () => done(failed('unavailable')));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) return done(failed('http_error'));
          const answer = parseObject(Buffer.concat(chunks));
          done(answer === null ? failed('invalid') : { ok: true, answer });
        });
      });
      req.end(body);
    });
  }
}

type Posted =
  { ok: true; answer: Record<string, unknown> } | { ok: false; failure: HookFailure; refused: boolean };

function failed(failure: HookFailure, refused = false): Posted {
  return { ok: false, failure, refused };
}

function failure(f: HookFailure): { ok: false; failure: HookFailure; reason: string } {
  return { ok: false, failure: f, reason: CLIENT_REASONS[f] };
}

/**
 * Strict UTF-8: an answer with invalid bytes is refused rather than decoded with U+FFFD, which
 * would hand the client a reason or payload the backend never wrote. A BOM is kept, so JSON.parse
 * refuses it too.
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A JSON object, or null for anything else (garbage, arrays, invalid UTF-8, too deep). */
function parseObject(bytes: Buffer): Record<string, unknown> | null {
  try {
    const text = UTF8.decode(bytes);
    // The answer object is one level; what it carries (payloads, meta) gets the payload depth bound.
    if (exceedsJsonDepth(text, MAX_PAYLOAD_DEPTH + 2)) return null;
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
