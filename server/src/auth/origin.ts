/**
 * Origin allow-list for WebSocket upgrades (protects browsers from cross-site WebSocket hijacking).
 * An empty list allows any origin. Requests without an Origin header come from non-browser
 * clients, which can set any header anyway, so they are allowed.
 */
export function isOriginAllowed(origin: string | undefined, allowed: readonly string[]): boolean {
  if (allowed.length === 0 || origin === undefined) return true;
  let normalized: string;
  try {
    normalized = new URL(origin).origin;
  } catch {
    return false;
  }
  return allowed.includes(normalized);
}
