import { CloseCode } from '../protocol/close-codes.js';

interface Sweepable {
  lastSeen: number;
  close(code: typeof CloseCode.heartbeatTimeout): void;
}

/**
 * Closes sessions that sent nothing for `timeoutMs` (code 4000). One interval for the whole node,
 * no timer per connection; the sweep runs every quarter of the timeout (at most every 5 s).
 * Replies to heartbeats are the session's job (protocol); this only enforces silence.
 */
export function startHeartbeatSweep(sessions: Iterable<Sweepable>, timeoutMs: number): () => void {
  const every = Math.max(25, Math.min(5000, Math.floor(timeoutMs / 4)));
  const timer = setInterval(() => {
    const deadline = Date.now() - timeoutMs;
    for (const s of sessions) if (s.lastSeen < deadline) s.close(CloseCode.heartbeatTimeout);
  }, every);
  timer.unref();
  return () => clearInterval(timer);
}
