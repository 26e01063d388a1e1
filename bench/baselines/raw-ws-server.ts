/**
 * Baseline: the smallest useful `ws` broadcast server, the floor a WebSocket fan-out server is
 * compared with. Every text message a client sends goes to every connected client, one
 * `ws.send` (one frame, one kernel write) per subscriber.
 *
 * With REDIS_URL set, messages travel through Redis pub/sub so a publisher connected to another
 * node reaches this node's clients (the two-node scenario).
 *
 * Env: PORT (required), HOST (127.0.0.1), REDIS_URL (optional).
 */
import { Redis } from 'ioredis';
import { WebSocketServer, type RawData } from 'ws';

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) throw new Error('PORT must be a TCP port number, e.g. PORT=4100');
const host = process.env.HOST ?? '127.0.0.1';
const CHANNEL = 'bench:raw';

const wss = new WebSocketServer({ host, port });

function broadcast(data: RawData | Buffer): void {
  for (const client of wss.clients) client.send(data, { binary: false });
}

let publish: (data: RawData) => void = broadcast;
if (process.env.REDIS_URL) {
  const pub = new Redis(process.env.REDIS_URL);
  const sub = new Redis(process.env.REDIS_URL);
  await sub.subscribe(CHANNEL);
  sub.on('messageBuffer', (_channel: Buffer, message: Buffer) => broadcast(message));
  publish = (data) => void pub.publish(CHANNEL, data as Buffer);
}

wss.on('connection', (ws) => {
  ws.on('message', (data) => publish(data));
  ws.on('error', () => ws.terminate());
});
wss.on('listening', () => console.log(`raw ws broadcast server listening on ${host}:${port}`));
process.on('SIGTERM', () => process.exit(0));
