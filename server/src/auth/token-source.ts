/** The subprotocol prefix the official client uses for `authToken` (base64url of the token). */
export const AUTH_PROTOCOL_PREFIX = 'base64url.bearer.phx.';

/**
 * The bearer token of an upgrade request: the `token` connect param (`?token=...`, what
 * `new Socket(url, { params: { token } })` sends) or the `base64url.bearer.phx.<b64>` subprotocol
 * (what `new Socket(url, { authToken })` sends). The subprotocol wins when both are present.
 */
export function extractToken(
  searchParams: URLSearchParams,
  protocolHeader: string | undefined,
): string | null {
  if (protocolHeader) {
    for (const item of protocolHeader.split(',')) {
      const p = item.trim();
      if (p.startsWith(AUTH_PROTOCOL_PREFIX)) {
        // Node's base64url decoder also accepts the standard alphabet, which the client's btoa() emits.
        const token = Buffer.from(p.slice(AUTH_PROTOCOL_PREFIX.length), 'base64url').toString('utf8');
        return token.length > 0 ? token : null;
      }
    }
  }
  const token = searchParams.get('token');
  return token && token.length > 0 ? token : null;
}
