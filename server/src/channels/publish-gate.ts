/** A publication from the HTTP API, as the gate sees it and may rewrite it. */
export interface ApiPublication {
  topic: string;
  event: string;
  payload: unknown;
}

/**
 * Decides a `POST /api/broadcast` before it is published (the publish hook, docs/hooks.md): allow
 * it, allow a rewrite of it, or refuse it with the HTTP status and reason the caller gets.
 */
export type PublishGate = (pub: ApiPublication) => Promise<PublishDecision>;

export type PublishDecision =
  { ok: true; publication: ApiPublication } | { ok: false; status: 403 | 503; reason: string };
