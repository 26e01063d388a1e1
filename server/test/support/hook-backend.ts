// A team's backend for the hook tests, run as its own process: `node --import tsx hook-backend.ts`.
// Env: PORT (0 = any), HOOKS_SECRET, SLOW_MS. Prints "listening <port>" once it accepts requests.
// It verifies each request's signature (401 otherwise), records every request for the test
// (GET /requests), and answers by topic (connect and publish hooks by user and event): game:slow* after SLOW_MS, game:garbage* with HTML,
// game:huge* with 100 KB, game:500* with a 500; other topics play a small game (docs/hooks.md).
import { createServer } from 'node:http';
import { readSigned } from './signed-requests.js';

const secret = process.env.HOOKS_SECRET ?? '';
const slowMs = Number(process.env.SLOW_MS ?? '3000');
const seen: { headers: Record<string, unknown>; body: unknown; signatureOk: boolean }[] = [];

function answer(req: {
  hook: string;
  topic?: string;
  principal: { sub: string; assigns?: Record<string, unknown> };
  params?: Record<string, unknown>;
  event?: string;
  payload?: Record<string, unknown>;
}): unknown {
  if (req.hook === 'connect') {
    if (req.principal.sub === 'mallory') return { ok: false, reason: 'mallory is banned' };
    return { ok: true, assigns: { tier: req.params?.tier === 'gold' ? 'gold' : 'basic' } };
  }
  if (req.hook === 'join') {
    if (req.params?.secret !== 'open sesame') return { ok: false, reason: 'wrong secret' };
    const meta: Record<string, unknown> = { role: req.principal.sub === 'mod' ? 'moderator' : 'player' };
    if (req.principal.assigns) meta.tier = req.principal.assigns.tier;
    return { ok: true, meta };
  }
  if (req.hook === 'publish') {
    if (req.event === 'spam') return { allow: false, reason: 'no spam here' };
    if (req.event === 'announce')
      return {
        allow: true,
        event: 'announcement',
        payload: { text: String(req.payload?.text).toUpperCase() },
      };
    return { allow: true };
  }
  switch (req.event) {
    case 'move': {
      const square = req.payload?.square;
      if (typeof square !== 'number' || !Number.isInteger(square) || square < 0 || square > 8)
        return { reply: 'error', reason: 'square must be 0 to 8' };
      return {
        reply: 'ok',
        response: { accepted: square },
        broadcast: { event: 'moved', payload: { square, by: req.principal.sub } },
      };
    }
    case 'ping':
      return { reply: 'ok', response: { pong: true } };
    case 'shout':
      return { reply: 'none', broadcast: true };
    case 'cheat':
      return { reply: 'ok', broadcast: { event: 'phx_close', payload: {} } };
    default:
      return { reply: 'error', reason: `unknown event ${req.event}` };
  }
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/requests') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify(seen));
  }
  void readSigned(req, secret).then(({ text, signatureOk }) => {
    const body = JSON.parse(text) as Parameters<typeof answer>[0];
    seen.push({ headers: req.headers, body, signatureOk });
    if (!signatureOk) {
      res.writeHead(401);
      return res.end('bad signature');
    }
    const send = (status: number, type: string, out: string) => {
      res.writeHead(status, { 'content-type': type });
      res.end(out);
    };
    const topic = body.topic ?? '';
    if (topic.startsWith('game:slow'))
      return setTimeout(() => send(200, 'application/json', JSON.stringify(answer(body))), slowMs);
    if (topic.startsWith('game:garbage')) return send(200, 'text/html', '<html>502 Bad Gateway</html>');
    if (topic.startsWith('game:huge'))
      return send(200, 'application/json', JSON.stringify({ ok: true, pad: 'x'.repeat(100_000) }));
    if (topic.startsWith('game:500')) return send(500, 'application/json', '{"error":"boom"}');
    send(200, 'application/json', JSON.stringify(answer(body)));
  });
});
server.listen(Number(process.env.PORT ?? '0'), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
