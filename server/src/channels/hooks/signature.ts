import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header carrying the request's HMAC: `v1=<hex of HMAC-SHA256(secret, "<timestamp>.<body>")>`. */
export const SIGNATURE_HEADER = 'x-switchboard-signature';
/** Header carrying the signing time in whole seconds since the epoch (part of what is signed). */
export const TIMESTAMP_HEADER = 'x-switchboard-timestamp';

/**
 * Signs a hook request as backends verify it (docs/hooks.md): the timestamp is signed with the body
 * so a captured request cannot be replayed later than the backend's tolerance.
 */
export function signHook(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * Checks a signature the way a backend should: constant-time comparison, and a timestamp no further
 * than `toleranceSeconds` from `now`. Exported for tests and for Node backends.
 */
export function verifyHook(
  secret: string,
  headers: { signature?: string; timestamp?: string },
  body: string,
  now = Date.now(),
  toleranceSeconds = 300,
): boolean {
  const ts = Number(headers.timestamp);
  if (!Number.isSafeInteger(ts) || Math.abs(now / 1000 - ts) > toleranceSeconds) return false;
  const expected = Buffer.from(signHook(secret, ts, body));
  const given = Buffer.from(headers.signature ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
