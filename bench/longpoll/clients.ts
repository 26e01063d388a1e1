/**
 * Raw clients for the LongPoll benchmark, both transports speaking V2 as the official client does:
 * a WebSocket upgrade (`/socket/websocket`), or a LongPoll open (`GET /socket/longpoll`, answered
 * `{"status": 410, "token": <session>}`) followed by polls that hold the session open.
 */
import { Agent, request } from 'node:http';
import WebSocket from 'ws';

export type Transport = 'websocket' | 'longpoll';

export function httpGetJson(url: string, agent: Agent): Promise<{ status?: number; token?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { status?: number; token?: string });
        } catch (err) {
          reject(err as Error);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens one session; resolves with what closes it (WebSocket) or its LongPoll session token. */
export async function openSession(
  transport: Transport,
  base: string,
  jwt: string,
  agent: Agent,
): Promise<{ close(): void; session?: string }> {
  if (transport === 'longpoll') {
    const answer = await httpGetJson(`${base}/socket/longpoll?vsn=2.0.0&token=${jwt}`, agent);
    if (answer.status !== 410 || typeof answer.token !== 'string') {
      throw new Error(`LongPoll open answered ${JSON.stringify(answer)}`);
    }
    return { session: answer.token, close: () => undefined };
  }
  const ws = new WebSocket(`${base.replace('http', 'ws')}/socket/websocket?vsn=2.0.0&token=${jwt}`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { close: () => ws.close() };
}

/**
 * Keeps a LongPoll session alive as the client does: one poll always waiting; a 204 (window over,
 * nothing to read) is followed by the next poll. Stops when `stopped()` says so or the session is gone.
 */
export async function keepPolling(
  base: string,
  jwt: string,
  session: string,
  agent: Agent,
  stopped: () => boolean,
): Promise<void> {
  while (!stopped()) {
    const answer = await httpGetJson(
      `${base}/socket/longpoll?vsn=2.0.0&token=${jwt}&token=${encodeURIComponent(session)}`,
      agent,
    ).catch(() => ({ status: 0 }));
    if (answer.status !== 204 && answer.status !== 200) return;
  }
}
