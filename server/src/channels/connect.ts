import { withAssigns, type Principal } from '../auth/principal.js';
import type { Logger } from '../telemetry/logger.js';
import { metrics } from '../telemetry/metrics.js';

/**
 * Decides who may connect (Phoenix's `connect/3`), after the JWT was verified and before the
 * WebSocket handshake (or the LongPoll session) is accepted. `params` are the connection's query
 * parameters (the phoenix client's `params` option) without `token` and `vsn`, in an object with
 * no prototype. The `assigns` it returns are handed to every channel callback as
 * `principal.assigns`.
 */
export type ConnectHandler = (req: ConnectRequest) => ConnectResult | Promise<ConnectResult>;

export interface ConnectRequest {
  params: Readonly<Record<string, string>>;
  /** The verified JWT's user. */
  principal: Principal;
}

export type ConnectResult =
  | { ok: true; assigns?: Readonly<Record<string, unknown>> }
  /** Refused: the upgrade is answered 403 with `reason` (the phoenix client reconnects with backoff). */
  | { ok: false; reason: string };

/** The outcome of `admit`: the principal to use, or the HTTP status and reason of a refusal. */
export type Admission = { principal: Principal } | { status: 403 | 500; reason: string };

/** Query parameters that are the server's, never a connect handler's. */
const RESERVED = new Set(['token', 'vsn']);

/** Query parameters as connect params (first value of each name, reserved ones left out). */
export function connectParams(query: URLSearchParams): Record<string, string> {
  const params = Object.create(null) as Record<string, string>;
  for (const [k, v] of query) if (!RESERVED.has(k) && !(k in params)) params[k] = v;
  return params;
}

/**
 * Runs the connect handler (when there is one). A refusal is a 403 with its reason; a handler that
 * throws, rejects or returns something else is a 500 `connect failed`, logged and counted
 * (switchboard_channel_handler_errors_total{callback="connect"}).
 */
export async function admit(
  connect: ConnectHandler | undefined,
  principal: Principal,
  query: URLSearchParams,
  logger: Logger,
): Promise<Admission> {
  if (!connect) return { principal };
  try {
    const result = await connect({ params: connectParams(query), principal });
    if (result?.ok === true) {
      return {
        principal: result.assigns === undefined ? principal : withAssigns(principal, result.assigns),
      };
    }
    if (result?.ok === false && typeof result.reason === 'string')
      return { status: 403, reason: result.reason };
    throw new TypeError('connect must return { ok: true, assigns? } or { ok: false, reason }');
  } catch (err) {
    metrics.channelHandlerErrors.labels('connect').inc();
    logger.warn({ err, user: principal.sub, callback: 'connect' }, 'channel handler failed');
    return { status: 500, reason: 'connect failed' };
  }
}
