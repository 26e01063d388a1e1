// A team's webhook receiver for the webhook tests, run as its own process:
// `node --import tsx webhook-receiver.ts`. Env: PORT (0 = any), WEBHOOK_SECRET, FAIL_FIRST (the
// first N attempts of every idempotency key are answered 500; the first attempt of an event on a
// topic that starts with `room:hang` is never answered). Prints "listening <port>" once it
// accepts requests. Every request is recorded (GET /requests, at most MAX_RECORDS of them) with
// its status and whether its signature verified; a bad signature is answered 401.
import { createServer } from 'node:http';
import { readSigned } from './signed-requests.js';

const secret = process.env.WEBHOOK_SECRET ?? '';
const failFirst = Number(process.env.FAIL_FIRST ?? '0');
/** Bound on what is kept: the tests send far fewer. */
const MAX_RECORDS = 10_000;
const MAX_BODY_BYTES = 64 * 1024;

export interface ReceivedWebhook {
  key: string;
  attempt: string;
  /** x-switchboard-node: the node that sent this attempt. */
  node: string;
  event: string;
  signatureOk: boolean;
  status: number;
  body: Record<string, unknown>;
  raw: string;
}

const seen: ReceivedWebhook[] = [];
/** Attempts per idempotency key (a Map: keys come from outside). */
const attempts = new Map<string, number>();

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/requests') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify(seen));
  }
  void readSigned(req, secret, MAX_BODY_BYTES).then(({ text: raw, signatureOk }) => {
    const key = String(req.headers['idempotency-key'] ?? '');
    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    const status = !signatureOk ? 401 : n <= failFirst ? 500 : 204;
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      // recorded as an empty body; the test sees it
    }
    if (seen.length < MAX_RECORDS) {
      seen.push({
        key,
        attempt: String(req.headers['x-switchboard-attempt'] ?? ''),
        node: String(req.headers['x-switchboard-node'] ?? ''),
        event: String(req.headers['x-switchboard-event'] ?? ''),
        signatureOk,
        status,
        body,
        raw,
      });
    }
    // Never answered: the sender stays mid-attempt (until it times out, or is killed).
    if (n === 1 && String(body.topic).startsWith('room:hang')) return;
    res.writeHead(status);
    res.end();
  });
});
server.listen(Number(process.env.PORT ?? '0'), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
