// A team backend whose answers the test chooses, byte for byte, run as its own process:
// `node --import tsx scripted-hook-backend.ts`. Env: HOOKS_SECRET. Prints "listening <port>".
// PUT /answers/<hook> with the raw bytes to answer every later call of that hook with (header
// `x-chunked: 1`: sent without content-length, in 1 KiB chunks); DELETE /answers/<hook> (and the
// start) makes that hook answer a plain allow. Every signed hook request's raw body is kept for GET /requests (a JSON array of
// strings, so `__proto__` keys reach the test as text, never as parsed objects of this process).
import { createServer, type ServerResponse } from 'node:http';
import { readSigned } from './signed-requests.js';

const secret = process.env.HOOKS_SECRET ?? '';
const DEFAULTS = new Map<string, string>([
  ['connect', '{"ok":true}'],
  ['join', '{"ok":true}'],
  ['push', '{"reply":"ok"}'],
  ['publish', '{"allow":true}'],
]);
/** The scripted answer per hook name; names come from the test, so a Map. */
const answers = new Map<string, { bytes: Buffer; chunked: boolean }>();
const seen: string[] = [];
/** At most this many request bodies are kept (a property run makes a few hundred). */
const MAX_SEEN = 5_000;

function readAll(req: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

function send(res: ServerResponse, bytes: Buffer, chunked: boolean): void {
  if (!chunked) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes.length });
    res.end(bytes);
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  for (let i = 0; i < bytes.length; i += 1024) res.write(bytes.subarray(i, i + 1024));
  res.end();
}

const server = createServer((req, res) => {
  const url = req.url ?? '';
  if (req.method === 'GET' && url === '/requests') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify(seen));
  }
  if (req.method === 'PUT' && url.startsWith('/answers/')) {
    const hook = url.slice('/answers/'.length);
    void readAll(req).then((bytes) => {
      answers.set(hook, { bytes, chunked: req.headers['x-chunked'] === '1' });
      res.writeHead(204).end();
    });
    return;
  }
  if (req.method === 'DELETE' && url.startsWith('/answers/')) {
    answers.delete(url.slice('/answers/'.length));
    return res.writeHead(204).end();
  }
  // A node that stops reading an answer too large closes the connection under our writes.
  res.on('error', () => {});
  void readSigned(req, secret).then(({ text, signatureOk }) => {
    if (!signatureOk) {
      res.writeHead(401);
      return res.end('bad signature');
    }
    if (seen.length < MAX_SEEN) seen.push(text);
    const hook = String(req.headers['x-switchboard-hook']);
    const scripted = answers.get(hook);
    if (scripted) return send(res, scripted.bytes, scripted.chunked);
    send(res, Buffer.from(DEFAULTS.get(hook) ?? '{}'), false);
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
