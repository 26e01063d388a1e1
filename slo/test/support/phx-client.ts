import { WebSocket } from 'ws';

/** A broadcast frame `[null, null, topic, event, payload]` as one client received it. */
export interface Delivery {
  topic: string;
  event: string;
  payload: unknown;
  receivedAt: number;
}

/**
 * A minimal Phoenix V2 client over raw `ws` frames. Unlike the official client it never reconnects
 * or rejoins on its own, so every upgrade and join the server counts is one the test asked for.
 */
export class PhxClient {
  readonly deliveries: Delivery[] = [];
  private ref = 0;
  private readonly replies = new Map<string, (status: string) => void>();
  private readonly joinRefs = new Map<string, string>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const [, ref, topic, event, payload] = JSON.parse(String(data)) as [
        string | null,
        string | null,
        string,
        string,
        { status?: string },
      ];
      if (event === 'phx_reply' && ref !== null) {
        this.replies.get(ref)?.(payload.status ?? 'unknown');
        this.replies.delete(ref);
      } else if (ref === null) {
        this.deliveries.push({ topic, event, payload, receivedAt: Date.now() });
      }
    });
  }

  /** Opens `<socketUrl>/websocket?vsn=2.0.0&token=...`; resolves with the HTTP status when refused. */
  static connect(socketUrl: string, token: string): Promise<PhxClient | { refused: number }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${socketUrl}/websocket?vsn=2.0.0&token=${encodeURIComponent(token)}`);
      ws.once('open', () => resolve(new PhxClient(ws)));
      ws.once('unexpected-response', (_req, res) => {
        resolve({ refused: res.statusCode ?? 0 });
        res.resume();
        ws.terminate();
      });
      ws.once('error', reject);
    });
  }

  private send(topic: string, event: string, payload: unknown, joinRef?: string): Promise<string> {
    const ref = String(++this.ref);
    const reply = new Promise<string>((resolve) => this.replies.set(ref, resolve));
    this.ws.send(JSON.stringify([joinRef ?? ref, ref, topic, event, payload]));
    if (joinRef === undefined) this.joinRefs.set(topic, ref);
    return reply;
  }

  /** Joins `topic`; resolves with the reply status ("ok" or "error"). */
  join(topic: string): Promise<string> {
    return this.send(topic, 'phx_join', {});
  }

  /** Pushes `event` to a joined topic; resolves with the reply status. */
  push(topic: string, event: string, payload: unknown): Promise<string> {
    const joinRef = this.joinRefs.get(topic);
    if (joinRef === undefined) throw new Error(`push to ${topic} before joining it`);
    return this.send(topic, event, payload, joinRef);
  }

  close(): void {
    this.ws.close(1000);
  }
}
