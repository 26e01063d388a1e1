// A bare WebSocket upgrade request, for tests of how the server answers (or refuses) one.
import { request } from 'node:http';

/** Sends a WebSocket upgrade request and resolves with the HTTP status of the answer. */
export async function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return (await upgradeAnswer(url, headers)).status;
}

/** Sends a WebSocket upgrade request; resolves with the answer's status and body ('' when upgraded). */
export function upgradeAnswer(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
