/**
 * `POST /drain` on the baselines: the server closes every subscriber connection at once, as a
 * deploy does (workload D's cut; Switchboard's equivalent is `POST /api/drain`). Publishers stay
 * connected: they stand for backends, whose reconnects D does not measure. Loopback bench servers
 * only, so there is no token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Handles `POST /drain` with `closeSubscribers` (returns how many it closed); false for any other request. */
export function handleDrain(
  req: IncomingMessage,
  res: ServerResponse,
  closeSubscribers: () => number,
): boolean {
  if (req.method !== 'POST' || req.url !== '/drain') return false;
  const closed = closeSubscribers();
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ closed }));
  return true;
}

/** The close code of a deploy's cut: 1012 service restart (RFC 6455 7.4.1 registry), as Switchboard's drain. */
export const SERVICE_RESTART = 1012;
