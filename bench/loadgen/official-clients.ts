/**
 * The correctness sample: a few connections made with each server's own client library (the
 * official `phoenix` client for Switchboard, `socket.io-client` for Socket.IO, `ws` for the `ws`
 * baselines), so the lean subscribers are not the only witnesses. Each records the sequence numbers
 * of the current step in arrival order; the step expects exactly 0 .. published-1.
 *
 * With `endpoint.recover` (workload D) each also comes back after the server closes it, the way its
 * library does: phoenix with Switchboard's documented helper (server/public/recovery.js), socket.io-client
 * with connection state recovery (joining again when the server did not recover the session), `ws`
 * by opening a new connection (no recovery: what it missed is lost).
 */
import { Socket, type SocketConnectOption } from 'phoenix';
import { io, type Socket as IoSocket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { recoverableChannel } from '../../server/public/recovery.js';
import { signToken } from '../../testkit/src/index.js';
import type { Endpoint } from './protocols.js';

const OPEN_TIMEOUT_MS = 30_000;
/** Bound on sequence numbers kept per client and step (8 bytes each); past it the client reports overflow. */
const MAX_KEPT = 1_000_000;

interface Publication {
  k: number;
  q: number;
}

export class OfficialClient {
  private step = -1;
  private seqs: number[] = [];
  private overflow = false;
  /** Joined once: a later connect is a reconnect. */
  joined = false;

  constructor(
    readonly library: string,
    readonly topic: string,
    private readonly closer: () => void,
  ) {}

  /** Starts recording `step`. */
  reset(step: number): void {
    this.step = step;
    this.seqs = [];
    this.overflow = false;
  }

  /** A payload the library delivered for the benchmark's event. */
  deliver(payload: unknown): void {
    const p = payload as Partial<Publication> | null;
    if (!p || p.k !== this.step || typeof p.q !== 'number') return;
    if (this.seqs.length < MAX_KEPT) this.seqs.push(p.q);
    else this.overflow = true;
  }

  /** null when the client got exactly 0 .. published-1 in order, else what went wrong. */
  problem(published: number): string | null {
    if (this.overflow)
      return `${this.library} on ${this.topic}: more than ${MAX_KEPT} deliveries, not checked`;
    const s = this.seqs;
    if (s.length === published && s.every((q, i) => q === i)) return null;
    const firstWrong = s.findIndex((q, i) => q !== i);
    return (
      `${this.library} on ${this.topic}: got ${s.length} of ${published}` +
      (firstWrong >= 0 ? `, position ${firstWrong} holds ${s[firstWrong]}` : '')
    );
  }

  close(): void {
    this.closer();
  }

  /** Opens a client of the library that belongs to `ep.protocol`, joined to `ep.topic`. */
  static async open(ep: Endpoint, index: number): Promise<OfficialClient> {
    const opened = (async () => {
      if (ep.protocol === 'phoenix') return openPhoenix(ep, index);
      if (ep.protocol === 'socketio') return openSocketIo(ep);
      return openWs(ep);
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`official ${ep.protocol} client not joined in ${OPEN_TIMEOUT_MS} ms`)),
        OPEN_TIMEOUT_MS,
      );
    });
    try {
      return await Promise.race([opened, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

async function openPhoenix(ep: Endpoint, index: number): Promise<OfficialClient> {
  if (!ep.jwtSecret) throw new Error('endpoint.jwtSecret is required for the phoenix protocol');
  const token = await signToken(
    { sub: `bench-official-${index}`, join: ['feed:*'], publish: [] },
    ep.jwtSecret,
    '6h',
  );
  const socket = new Socket(`ws://${ep.host}:${ep.port}/socket`, {
    transport: WebSocket as unknown as SocketConnectOption['transport'],
    params: { token },
  });
  socket.connect();
  const client = new OfficialClient('phoenix', ep.topic, () => socket.disconnect());
  const deliver = (event: string, payload: unknown) => event === 'bench' && client.deliver(payload);
  const channel = ep.recover
    ? recoverableChannel(socket, ep.topic, { onMessage: deliver }).channel
    : socket.channel(ep.topic, {});
  if (!ep.recover) channel.on('bench', (payload: unknown) => client.deliver(payload));
  await new Promise<void>((resolve, reject) => {
    channel
      .join()
      .receive('ok', () => resolve())
      .receive('error', (r: unknown) => reject(new Error(`phoenix join refused: ${JSON.stringify(r)}`)));
  });
  return client;
}

async function openSocketIo(ep: Endpoint): Promise<OfficialClient> {
  const socket: IoSocket = io(`http://${ep.host}:${ep.port}`, { transports: ['websocket'] });
  const client = new OfficialClient('socket.io-client', ep.topic, () => socket.close());
  socket.on('msg', (payload: unknown) => client.deliver(payload));
  // After a reconnect the rooms come back only with a recovered session.
  socket.on('connect', () => {
    if (socket.recovered) return;
    if (client.joined) socket.emit('join', ep.topic, () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect_error', reject);
    socket.once('connect', () => {
      socket.emit('join', ep.topic, (ok: boolean) =>
        ok ? resolve() : reject(new Error('socket.io join refused')),
      );
    });
  });
  client.joined = true;
  return client;
}

async function openWs(ep: Endpoint): Promise<OfficialClient> {
  const url = `ws://${ep.host}:${ep.port}/?room=${encodeURIComponent(ep.topic)}&role=sub`;
  let ws = new WebSocket(url);
  let closing = false;
  const client = new OfficialClient('ws', ep.topic, () => {
    closing = true;
    ws.close();
  });
  const attach = (sock: WebSocket) => {
    sock.on('message', (data) => {
      try {
        client.deliver(JSON.parse(String(data)));
      } catch {
        /* not a publication */
      }
    });
    sock.on('error', () => undefined);
    // Workload D: the plain ws client has no reconnect of its own; the application opens a new one.
    sock.on('close', () => {
      if (!ep.recover || closing) return;
      setTimeout(() => {
        ws = new WebSocket(url);
        attach(ws);
      }, 50);
    });
  };
  attach(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return client;
}
