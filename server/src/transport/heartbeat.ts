import { CloseCode } from '../protocol/close-codes.js';

interface Sweepable {
  lastSeen: number;
  readonly principal: { readonly expiresAt: number };
  close(code: typeof CloseCode.heartbeatTimeout | typeof CloseCode.tokenExpired): void;
}

/**
 * Closes sessions that sent nothing for `timeoutMs` (code 4000) and sessions whose token expired
 * (4001). One interval for the whole node, no timer per connection; the sweep runs every quarter of
 * the timeout, at most every second (so a token outlives its `exp` by at most ~1 s).
 * Replies to heartbeats are the session's job (protocol); this only enforces silence.
 */
export function startHeartbeatSweep(sessions: Iterable<Sweepable>, timeoutMs: number): () => void {
  const every = Math.max(25, Math.min(1000, Math.floor(timeoutMs / 4)));
  const timer = setInterval(() => {
    const now = Date.now();
    const deadline = now - timeoutMs;
    for (const s of sessions) {
      if (s.lastSeen < deadline) s.close(CloseCode.heartbeatTimeout);
      else if (s.principal.expiresAt <= now) s.close(CloseCode.tokenExpired);
    }
  }, every);
  timer.unref();
  return () => clearInterval(timer);
}
