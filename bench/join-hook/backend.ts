// The backend for the join-hook benchmark: verifies each request's signature as a real backend
// must, and allows every join at once. Env: HOOKS_SECRET. Prints "listening <port>".
import { createServer } from 'node:http';
import { verifyHook } from '../../server/src/channels/hooks/signature.js';

const secret = process.env.HOOKS_SECRET ?? '';
let refused = 0;

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify({ refused }));
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const headers = {
      signature: req.headers['x-switchboard-signature'] as string | undefined,
      timestamp: req.headers['x-switchboard-timestamp'] as string | undefined,
    };
    if (!verifyHook(secret, headers, body)) {
      refused++;
      res.writeHead(401);
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
