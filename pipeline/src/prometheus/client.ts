/**
 * A small Prometheus HTTP API client (GET/POST /api/v1/query) for the SLO gate and scripts. It keeps
 * the API's own distinctions -- unreachable, HTTP error, PromQL error, odd response -- as stable codes,
 * because the gate treats all of them as "no verdict" and must say which one it was.
 */

/** Why a query produced no value. Callers branch on `code`; the message is for people. */
export type PrometheusErrorCode =
  /** Connection refused, DNS, TLS, or the request timed out. */
  | 'PROMETHEUS_UNREACHABLE'
  /** 401/403: the auth headers are missing or wrong. */
  | 'PROMETHEUS_UNAUTHORIZED'
  /** 400/422: Prometheus rejected the query (bad PromQL, execution error); `errorType` says which. */
  | 'PROMETHEUS_QUERY_ERROR'
  /** Another non-2xx status (5xx, 404 for a wrong base URL, 503 while starting). */
  | 'PROMETHEUS_HTTP_ERROR'
  /** A 2xx that is not the API's JSON envelope (often a login page or a proxy answering). */
  | 'PROMETHEUS_BAD_RESPONSE'
  /** A result with `warnings` (partial data from a store, truncation): callers that need a whole answer refuse it. */
  | 'PROMETHEUS_WARNINGS';

/** A failed call with a stable code, the HTTP status, and Prometheus' own `errorType`/`error`. */
export class PrometheusError extends Error {
  override readonly name = 'PrometheusError';
  constructor(
    readonly code: PrometheusErrorCode,
    message: string,
    readonly details: { status?: number; errorType?: string; serverMessage?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** True for a {@link PrometheusError}, optionally with one of `codes`. */
export function isPrometheusError(error: unknown, ...codes: PrometheusErrorCode[]): error is PrometheusError {
  return error instanceof PrometheusError && (codes.length === 0 || codes.includes(error.code));
}

/** One series of an instant query. `value` is a float; `NaN` and `±Inf` arrive as such. */
export interface InstantSample {
  labels: Record<string, string>;
  value: number;
}

/** An instant query's result: a vector (0..n samples) or a scalar (exactly one, without labels). */
export interface InstantQueryResult {
  resultType: 'vector' | 'scalar';
  samples: InstantSample[];
  /** Warnings Prometheus attached (e.g. a PromQL info annotation). */
  warnings: string[];
}

/** One series of a range query: its labels and its points, oldest first. */
export interface RangeSeries {
  labels: Record<string, string>;
  /** `t` in ms since the epoch; `value` as in {@link InstantSample}. */
  points: { t: number; value: number }[];
}

/** A range query's result (always a matrix). */
export interface RangeQueryResult {
  series: RangeSeries[];
  warnings: string[];
}

/** Prometheus refuses more than 11,000 points per series (web/api/v1/api.go); a chart needs far fewer. */
export const MAX_RANGE_POINTS = 11_000;

/** How to reach Prometheus. */
export interface PrometheusClientOptions {
  /** Base URL, e.g. https://prometheus.example.com or http://127.0.0.1:9090 (a path prefix is kept). */
  url: string;
  /** Extra request headers (Authorization, X-Scope-OrgID for Mimir/Cortex, ...). */
  headers?: Record<string, string>;
  /** Per-request timeout; default 30 s. Also sent as the query `timeout`. */
  timeoutMs?: number;
}

interface ApiEnvelope {
  status?: unknown;
  data?: { resultType?: unknown; result?: unknown };
  errorType?: unknown;
  error?: unknown;
  warnings?: unknown;
}

/** Parses Prometheus' sample value strings, including `NaN`, `+Inf` and `-Inf`. */
export function parseSampleValue(text: unknown): number {
  if (text === 'NaN') return NaN;
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  const value = typeof text === 'string' ? Number(text) : NaN;
  return value;
}

/** Client for the Prometheus HTTP API (also Thanos, Mimir, VictoriaMetrics: same envelope). */
export class PrometheusClient {
  readonly url: string;
  readonly #headers: Record<string, string>;
  readonly #timeoutMs: number;

  constructor(options: PrometheusClientOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new Error(
        `Prometheus URL "${options.url}" is not a URL: use e.g. https://prometheus.example.com`,
      );
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error(`Prometheus URL "${options.url}" must start with http:// or https://`);
    }
    this.url = parsed.toString().replace(/\/+$/, '');
    this.#headers = { ...options.headers };
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /**
   * Runs an instant query (POST /api/v1/query, form-encoded, so long gate queries fit) at `time`
   * (default: Prometheus' now). Resolves with a vector or a scalar; matrix and string results are
   * reported as PROMETHEUS_BAD_RESPONSE because a gate needs one number.
   */
  async query(promql: string, time?: Date): Promise<InstantQueryResult> {
    const form = new URLSearchParams({ query: promql, timeout: `${Math.ceil(this.#timeoutMs / 1000)}s` });
    if (time) form.set('time', (time.getTime() / 1000).toFixed(3));
    const body = await this.#post('/api/v1/query', form);
    const data = body.data ?? {};
    const warnings = Array.isArray(body.warnings) ? body.warnings.map(String) : [];
    if (data.resultType === 'scalar' && Array.isArray(data.result)) {
      return {
        resultType: 'scalar',
        samples: [{ labels: {}, value: parseSampleValue(data.result[1]) }],
        warnings,
      };
    }
    if (data.resultType === 'vector' && Array.isArray(data.result)) {
      const samples = (data.result as { metric?: Record<string, string>; value?: unknown[] }[]).map((r) => ({
        labels: r.metric ?? {},
        value: parseSampleValue(r.value?.[1]),
      }));
      return { resultType: 'vector', samples, warnings };
    }
    throw new PrometheusError(
      'PROMETHEUS_BAD_RESPONSE',
      `the query returned a ${String(data.resultType)} result; a gate query must return an instant vector or a scalar`,
    );
  }

  /**
   * Runs a range query (POST /api/v1/query_range): `promql` evaluated every `stepSeconds` from
   * `start` to `end`. Timestamps where the expression had no value are absent from a series.
   */
  async queryRange(promql: string, start: Date, end: Date, stepSeconds: number): Promise<RangeQueryResult> {
    if (!(stepSeconds > 0) || (end.getTime() - start.getTime()) / 1000 / stepSeconds > MAX_RANGE_POINTS) {
      throw new Error(
        `range query: step ${stepSeconds}s over ${start.toISOString()}..${end.toISOString()} is not a usable resolution`,
      );
    }
    const form = new URLSearchParams({
      query: promql,
      start: (start.getTime() / 1000).toFixed(3),
      end: (end.getTime() / 1000).toFixed(3),
      step: `${stepSeconds}`,
      timeout: `${Math.ceil(this.#timeoutMs / 1000)}s`,
    });
    const body = await this.#post('/api/v1/query_range', form);
    const data = body.data ?? {};
    const warnings = Array.isArray(body.warnings) ? body.warnings.map(String) : [];
    if (data.resultType !== 'matrix' || !Array.isArray(data.result)) {
      throw new PrometheusError(
        'PROMETHEUS_BAD_RESPONSE',
        `the range query returned a ${String(data.resultType)} result, not a matrix`,
      );
    }
    const series = (data.result as { metric?: Record<string, string>; values?: unknown[][] }[]).map((r) => ({
      labels: r.metric ?? {},
      points: (r.values ?? []).map(([t, v]) => ({ t: Number(t) * 1000, value: parseSampleValue(v) })),
    }));
    return { series, warnings };
  }

  /** A request that got no (whole) answer: refused, reset, or past the timeout. */
  #unreachable(error: unknown): PrometheusError {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why =
      (error as Error).name === 'TimeoutError'
        ? `no answer within ${this.#timeoutMs} ms`
        : (cause?.code ?? cause?.message ?? (error as Error).message);
    return new PrometheusError(
      'PROMETHEUS_UNREACHABLE',
      `Prometheus at ${this.url} is unreachable: ${why}`,
      {},
      { cause: error },
    );
  }

  async #post(path: string, form: URLSearchParams): Promise<ApiEnvelope> {
    const target = `${this.url}${path}`;
    let response: Response;
    try {
      response = await fetch(target, {
        method: 'POST',
        headers: {
          ...this.#headers,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      throw this.#unreachable(error);
    }
    let text: string;
    try {
      // The timeout covers the body too: a proxy that sends the headers and stalls is no answer.
      text = await response.text();
    } catch (error) {
      throw this.#unreachable(error);
    }
    let body: ApiEnvelope | undefined;
    try {
      body = JSON.parse(text) as ApiEnvelope;
    } catch {
      body = undefined;
    }
    const serverMessage = typeof body?.error === 'string' ? body.error : undefined;
    const errorType = typeof body?.errorType === 'string' ? body.errorType : undefined;
    if (response.status === 401 || response.status === 403) {
      throw new PrometheusError(
        'PROMETHEUS_UNAUTHORIZED',
        `Prometheus answered ${response.status}: check the headers input (e.g. "Authorization: Bearer <token>")`,
        { status: response.status, serverMessage },
      );
    }
    if (body?.status === 'error' || response.status === 400 || response.status === 422) {
      throw new PrometheusError(
        'PROMETHEUS_QUERY_ERROR',
        `Prometheus rejected the query (${errorType ?? response.status}): ${serverMessage ?? text.slice(0, 300)}`,
        { status: response.status, errorType, serverMessage },
      );
    }
    if (!response.ok) {
      throw new PrometheusError(
        'PROMETHEUS_HTTP_ERROR',
        `Prometheus answered HTTP ${response.status} for ${path}${serverMessage ? `: ${serverMessage}` : ''}`,
        { status: response.status, serverMessage },
      );
    }
    if (!body || body.status !== 'success') {
      throw new PrometheusError(
        'PROMETHEUS_BAD_RESPONSE',
        `${target} did not answer with the Prometheus API's JSON (is the URL the Prometheus base URL?): ${text.slice(0, 200)}`,
        { status: response.status },
      );
    }
    return body;
  }
}
