// One HTTP/1.1 request written byte for byte: fetch() and http.request normalise the path, and the
// point of these tests is what a proxy forwards unnormalised.
import { connect } from 'node:net';
import { within } from './phoenix.js';

export interface RawResponse {
  status: number;
  body: string;
}

/** Sends `GET <target> HTTP/1.1` (plus `headers`) to 127.0.0.1:port and reads the whole answer. */
export function rawGet(
  port: number,
  target: string,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const head = Object.entries({ host: 'switchboard.example.com', connection: 'close', ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return within(
    10_000,
    `GET ${target}`,
    new Promise<RawResponse>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', reject);
      socket.on('close', () => {
        const text = Buffer.concat(chunks).toString('latin1');
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
        resolve({ status: m ? Number(m[1]) : 0, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
      });
      socket.write(`GET ${target} HTTP/1.1\r\n${head}\r\n`);
    }),
  );
}
