// A phoenix client that uses the documented recovery helper (server/public/recovery.js) and records
// everything the e2e tests judge: raw arrivals (before de-duplication), delivered messages, join
// replies and socket opens.
import type { SocketConnectOption } from 'phoenix';
import { recoverableChannel, type Position, type RecoveryResponse } from '../../public/recovery.js';
import { phoenixSocket, type Channel, type Socket } from './phoenix.js';

export interface RecordedMessage {
  event: string;
  payload: { n?: number } & Record<string, unknown>;
  position: Position | null;
}

export interface RecoveryClient {
  socket: Socket;
  channel: Channel;
  /** Offsets (or null) of every broadcast frame as it arrived, duplicates included. */
  raw: (Position | null)[];
  /** What the helper handed to the application: each message once, in order. */
  delivered: RecordedMessage[];
  /** Every successful (re)join reply. */
  joins: RecoveryResponse[];
  /** Joins that could not recover (the helper's onReset). */
  resets: RecoveryResponse[];
  /** Times the socket opened (the first connect included). */
  opens: number;
  /** ms from each socket close to the next successful join reply. */
  reconnectTimes: number[];
  position(): Position | null;
  /** Joins (resolves at the first ok reply). */
  join(timeoutMs?: number): Promise<RecoveryResponse>;
}

/** Connects a phoenix socket to `url`, joins `topic` with recovery through the helper. */
export function recoveryClient(
  url: string,
  token: string,
  topic: string,
  opts: Partial<SocketConnectOption> = {},
  event = 'msg',
): RecoveryClient {
  const socket = phoenixSocket(url, { params: { token }, ...opts });
  const client: RecoveryClient = {
    socket,
    channel: undefined as unknown as Channel,
    raw: [],
    delivered: [],
    joins: [],
    resets: [],
    opens: 0,
    reconnectTimes: [],
    position: () => helper.position(),
    join: (timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`join ${topic} timed out`)), timeoutMs);
        helper.channel
          .join(timeoutMs)
          .receive('ok', (r: RecoveryResponse) => {
            clearTimeout(t);
            resolve(r);
          })
          .receive('error', (r: unknown) => {
            clearTimeout(t);
            reject(new Error(`join ${topic} refused: ${JSON.stringify(r)}`));
          });
      }),
  };
  let closedAt: number | null = null;
  socket.onOpen(() => {
    client.opens++;
  });
  socket.onClose(() => {
    closedAt ??= Date.now();
  });
  const helper = recoverableChannel(socket, topic, {
    onMessage: (ev, payload, position) =>
      client.delivered.push({ event: ev, payload: payload as RecordedMessage['payload'], position }),
    onJoin: (r) => {
      client.joins.push(r);
      if (closedAt !== null) client.reconnectTimes.push(Date.now() - closedAt);
      closedAt = null;
    },
    onReset: (r) => client.resets.push(r),
  });
  client.channel = helper.channel;
  // The phoenix client passes the frame's ref as the callback's second argument (its types omit it).
  const onRaw = (_payload: unknown, ref: unknown) => {
    client.raw.push(parseRef(ref));
  };
  helper.channel.on(event, onRaw as (payload: unknown) => void);
  socket.connect();
  return client;
}

function parseRef(ref: unknown): Position | null {
  if (typeof ref !== 'string') return null;
  const i = ref.lastIndexOf(':');
  return i > 0 ? { epoch: ref.slice(0, i), offset: Number(ref.slice(i + 1)) } : null;
}

/** True when `offsets` are exactly from..to, ascending, each once. */
export function isExactRange(offsets: number[], from: number, to: number): boolean {
  if (offsets.length !== Math.max(0, to - from + 1)) return false;
  return offsets.every((o, i) => o === from + i);
}
