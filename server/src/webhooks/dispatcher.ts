import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signHook } from '../channels/hooks/signature.js';
import { metrics } from '../telemetry/metrics.js';
import type { DeliveredEventName, WebhooksConfig } from './config.js';

/** Header carrying the event id: the same on every attempt, so the receiver can drop repeats. */
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Header carrying the attempt number (1 for the first). */
export const ATTEMPT_HEADER = 'x-switchboard-attempt';

/** One event on its way to WEBHOOK_URL; `body` is fixed at creation and identical on every attempt. */
interface Outgoing {
  id: string;
  event: DeliveredEventName;
  body: string;
  bytes: number;
  attempts: number;
  finished: (outcome: Outcome) => void;
}

/** How an event left the queue (the `outcome` label of switchboard_webhooks_total, plus `handed_over`). */
export type Outcome = 'delivered' | 'rejected' | 'failed' | 'dropped' | 'handed_over';

type AttemptResult = 'ok' | 'http_error' | 'rejected' | 'timeout' | 'unavailable';

/** What a logger of this module needs. */
export interface DispatchLogger {
  warn(obj: object, msg?: string): void;
}

/**
 * Delivers webhook events from a bounded in-memory queue: POST of a signed JSON body, bounded in
 * time and concurrency, retried with exponential backoff and jitter on network errors,
 * timeouts, 408, 429 and 5xx until WEBHOOK_MAX_ATTEMPTS, then dropped and counted. A 4xx other
 * than 408/429 is the receiver's refusal: not retried. The queue holds at most WEBHOOK_QUEUE_MAX
 * events and WEBHOOK_QUEUE_MAX_BYTES of bodies (waiting, in flight or between retries); an event
 * beyond either bound is dropped and counted.
 */
export class WebhookDispatcher {
  /** Ready to send, oldest first; with the retry timers and in-flight ones, bounded by the counters below. */
  private readonly ready: Outgoing[] = [];
  private readonly retryTimers = new Map<NodeJS.Timeout, Outgoing>();
  private count = 0;
  private bytes = 0;
  private inFlight = 0;
  private closed = false;
  private lastLog = 0;
  private readonly idle: (() => void)[] = [];

  constructor(
    private readonly config: Pick<
      WebhooksConfig,
      | 'url'
      | 'secret'
      | 'timeoutMs'
      | 'maxAttempts'
      | 'retryBaseMs'
      | 'retryMaxMs'
      | 'queueMax'
      | 'queueMaxBytes'
      | 'concurrency'
    >,
    /** Sent as x-switchboard-node: which node made this attempt (not part of the signed body). */
    private readonly nodeId: string,
    private readonly logger?: DispatchLogger,
  ) {}

  /**
   * Queues `body` (the event's JSON, sent as is on every attempt) as event `event` with id `id`;
   * `bytes` is its outbox size (`entrySize`), the same accounting as the outbox's, so an entry the
   * outbox held always fits here too. When the queue is full or closed, the event is dropped and
   * counted, and false returned. `finished` is told how a queued event ended.
   */
  enqueue(
    id: string,
    event: DeliveredEventName,
    body: string,
    bytes: number,
    finished: (outcome: Outcome) => void,
  ): boolean {
    if (
      this.closed ||
      this.count + 1 > this.config.queueMax ||
      this.bytes + bytes > this.config.queueMaxBytes
    ) {
      metrics.webhooks.labels(event, 'dropped').inc();
      this.warn({ event, id, queued: this.count }, 'webhook dropped: queue full');
      return false;
    }
    this.count++;
    this.bytes += bytes;
    this.gauge();
    this.ready.push({ id, event, body, bytes, attempts: 0, finished });
    this.pump();
    return true;
  }

  /** Room left in the queue, in events. */
  room(): number {
    return this.closed ? 0 : Math.max(0, this.config.queueMax - this.count);
  }

  /** Events waiting, between retries or in flight. */
  depth(): number {
    return this.count;
  }

  /**
   * Stops taking events and waits up to `budgetMs` for what is queued to be delivered; whatever is
   * left then (retries included) is finished as `handed_over` (the ledger keeps it for another node).
   */
  async close(budgetMs: number): Promise<void> {
    this.closed = true;
    if (this.count > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, budgetMs);
        this.idle.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    for (const [t, o] of this.retryTimers) {
      clearTimeout(t);
      this.finish(o, 'handed_over');
    }
    this.retryTimers.clear();
    for (const o of this.ready.splice(0)) this.finish(o, 'handed_over');
  }

  private pump(): void {
    while (this.inFlight < this.config.concurrency && this.ready.length > 0) {
      const o = this.ready.shift()!;
      this.inFlight++;
      void this.send(o).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async send(o: Outgoing): Promise<void> {
    o.attempts++;
    const { result, retryAfterMs } = await this.post(o);
    metrics.webhookAttempts.labels(result).inc();
    if (result === 'ok') return this.finish(o, 'delivered');
    if (result === 'rejected') return this.finish(o, 'rejected');
    if (o.attempts >= this.config.maxAttempts) {
      this.warn({ event: o.event, id: o.id, attempts: o.attempts, result }, 'webhook failed: gave up');
      return this.finish(o, 'failed');
    }
    const backoff = Math.min(this.config.retryMaxMs, this.config.retryBaseMs * 2 ** (o.attempts - 1));
    // "Equal jitter": half the backoff for sure, half at random, so retries of many events spread
    // out but none comes back at once.
    const jittered = backoff / 2 + (Math.random() * backoff) / 2;
    const delay = Math.min(this.config.retryMaxMs, Math.max(retryAfterMs ?? 0, jittered));
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.ready.push(o);
      this.pump();
    }, delay);
    timer.unref();
    this.retryTimers.set(timer, o);
  }

  private async post(o: Outgoing): Promise<{ result: AttemptResult; retryAfterMs?: number }> {
    const timestamp = Math.floor(Date.now() / 1000);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.config.timeoutMs);
    try {
      const res = await fetch(this.config.url, {
        method: 'POST',
        signal: abort.signal,
        body: o.body,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'switchboard-webhooks/1',
          'x-switchboard-event': o.event,
          'x-switchboard-node': this.nodeId,
          [IDEMPOTENCY_HEADER]: o.id,
          [ATTEMPT_HEADER]: String(o.attempts),
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signHook(this.config.secret, timestamp, o.body),
        },
      });
      // The answer's body means nothing here: do not read (or buffer) it.
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status <= 299) return { result: 'ok' };
      if (res.status === 408 || res.status === 429 || res.status >= 500) {
        return { result: 'http_error', retryAfterMs: retryAfter(res.headers.get('retry-after')) };
      }
      return { result: 'rejected' };
    } catch {
      return { result: abort.signal.aborted ? 'timeout' : 'unavailable' };
    } finally {
      clearTimeout(timer);
    }
  }

  private finish(o: Outgoing, outcome: Outcome): void {
    if (outcome !== 'handed_over') metrics.webhooks.labels(o.event, outcome).inc();
    o.finished(outcome);
    this.count--;
    this.bytes -= o.bytes;
    this.gauge();
    if (this.count === 0) for (const f of this.idle.splice(0)) f();
  }

  /** Logs at most one line per 10 s: a receiver that is down fails every event. */
  private warn(obj: object, msg: string): void {
    const now = Date.now();
    if (now - this.lastLog < 10_000) return;
    this.lastLog = now;
    this.logger?.warn(obj, msg);
  }

  private gauge(): void {
    metrics.webhookQueueDepth.set(this.count);
    metrics.webhookQueueBytes.set(this.bytes);
  }
}

/** Retry-After in ms (seconds or an HTTP date), or undefined when absent or unreadable. */
function retryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
