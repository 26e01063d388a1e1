/**
 * Closed-loop joins over raw V2 frames (`ws`): each connection keeps `window` joins in flight, each
 * on a topic of its own, and leaves every topic once its join is answered. Every join must be
 * answered `ok` exactly once; anything else is counted, never hidden.
 */
import WebSocket from 'ws';

export interface JoinCounts {
  ok: number;
  failed: number;
  /** Why joins failed: the reply's reason (or `connection closed`), with counts. */
  reasons: Map<string, number>;
  /** Replies for a ref not in flight (duplicates or strays). */
  unexpected: number;
  /** Join round trips in milliseconds, for the ok joins in the measured window. */
  latenciesMs: number[];
}

export async function openSockets(url: string, token: string, n: number): Promise<WebSocket[]> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`${url}/websocket?vsn=2.0.0&token=${encodeURIComponent(token)}`);
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        }),
    ),
  );
}

/** Joins on every socket for `durationMs`; counts joins answered within it. */
export async function joinFor(sockets: WebSocket[], window: number, durationMs: number): Promise<JoinCounts> {
  const counts: JoinCounts = { ok: 0, failed: 0, unexpected: 0, latenciesMs: [], reasons: new Map() };
  const deadline = performance.now() + durationMs;
  let open = 0;
  await new Promise<void>((done) => {
    sockets.forEach((ws, c) => {
      const inFlight = new Map<string, { topic: string; sentAt: number }>();
      let ref = 0;
      open++;
      const send = () => {
        const r = String(++ref);
        const topic = `game:${c}-${r}`;
        inFlight.set(r, { topic, sentAt: performance.now() });
        ws.send(JSON.stringify([r, r, topic, 'phx_join', {}]));
      };
      const fail = (reason: string, n = 1) => {
        counts.failed += n;
        counts.reasons.set(reason, (counts.reasons.get(reason) ?? 0) + n);
      };
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        ws.off('message', onMessage);
        ws.off('close', onClose);
        if (--open === 0) done();
      };
      // A closed connection answers nothing more: its joins in flight count as failed.
      const onClose = () => {
        fail('connection closed', inFlight.size);
        finish();
      };
      ws.once('close', onClose);
      const onMessage = (data: WebSocket.RawData) => {
        const [joinRef, r, topic, event, payload] = JSON.parse(data.toString()) as [
          string | null,
          string,
          string,
          string,
          { status?: string; response?: { reason?: unknown } },
        ];
        if (event !== 'phx_reply' || joinRef !== r) return; // a leave's reply or a close
        const sent = inFlight.get(r);
        if (!sent || sent.topic !== topic) {
          counts.unexpected++;
          return;
        }
        inFlight.delete(r);
        const now = performance.now();
        if (payload.status === 'ok') {
          counts.ok++;
          counts.latenciesMs.push(now - sent.sentAt);
          ws.send(JSON.stringify([r, String(++ref), topic, 'phx_leave', {}]));
        } else fail(String(payload.response?.reason ?? payload.status));
        if (now < deadline) send();
        else if (inFlight.size === 0) finish();
      };
      ws.on('message', onMessage);
      for (let i = 0; i < window; i++) send();
    });
  });
  return counts;
}
