// The logger as configured for the server: what a line holds, and which credentials never reach it.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { ROOT_CONTEXT, context, trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { createLogger } from '../../src/telemetry/logger.js';
import { configuredSecrets, redactUrl, scrubSecrets } from '../../src/telemetry/redact.js';

const JWT = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg';
const SECRET = 'jwt-secret-value-0123456789abcdef';
const API_TOKEN = 'api-token-value-fedcba9876543210';

/** A logger writing JSON lines into an array. */
function capture(level = 'debug') {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level, nodeId: 'n1', secrets: [SECRET, API_TOKEN] }, sink);
  return { logger, lines, json: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logger', () => {
  test('a logged request has its token parameter, authorization and token subprotocol masked', () => {
    const { logger, lines, json } = capture();
    const req = {
      method: 'GET',
      url: `/socket/websocket?vsn=2.0.0&token=${JWT}&access_token=abc123`,
      headers: {
        host: 'localhost',
        authorization: `Bearer ${API_TOKEN}`,
        'sec-websocket-protocol': `phoenix, base64url.bearer.phx.${Buffer.from(JWT).toString('base64url')}`,
        cookie: 'session=s3cr3t',
      },
      socket: { remoteAddress: '127.0.0.1' },
    };
    logger.debug({ req }, 'upgrade refused: unauthorized');
    const line = json()[0]! as { req: { url: string; headers: Record<string, string> }; node: string };
    assert.equal(line.node, 'n1');
    assert.equal(line.req.url, '/socket/websocket?vsn=2.0.0&token=[redacted]&access_token=[redacted]');
    assert.equal(line.req.headers.authorization, '[redacted]');
    assert.equal(line.req.headers['sec-websocket-protocol'], '[redacted]');
    assert.equal(line.req.headers.cookie, '[redacted]');
    assert.equal(line.req.headers.host, 'localhost');
    for (const leaked of [JWT, API_TOKEN, 'abc123', 's3cr3t', Buffer.from(JWT).toString('base64url')]) {
      assert.ok(!lines[0]!.includes(leaked), `line holds ${leaked}`);
    }
  });

  test('secret values and token shapes are masked even inside messages and errors', () => {
    const { logger, lines } = capture();
    logger.info(`configured with ${SECRET} and ${API_TOKEN}`);
    logger.error({ err: new Error(`verify failed for ${JWT}`) }, 'boom');
    logger.warn({ detail: `Authorization: Bearer opaque-token-123 at redis://user:hunter2@redis:6379` }, 'x');
    logger.info({ apiToken: API_TOKEN, token: 'plain', nested: { secret: 'x', password: 'y' } }, 'fields');
    const all = lines.join('\n');
    for (const leaked of [SECRET, API_TOKEN, JWT, 'opaque-token-123', 'hunter2', '"plain"']) {
      assert.ok(!all.includes(leaked), `output holds ${leaked}:\n${all}`);
    }
    assert.match(lines[0]!, /configured with \[redacted\] and \[redacted\]/);
    assert.match(lines[2]!, /redis:\/\/user:\[redacted\]@redis:6379/);
  });

  test('lines logged inside an active span carry its trace_id and span_id; others carry none', () => {
    const provider = new NodeTracerProvider();
    provider.register(); // AsyncLocalStorage context manager, as the server registers it
    try {
      const tracer = provider.getTracer('test');
      const { logger, json } = capture();
      logger.info('outside');
      const span = tracer.startSpan('connect');
      context.with(trace.setSpan(ROOT_CONTEXT, span), () => logger.info('inside'));
      span.end();
      const [outside, inside] = json();
      assert.equal(outside!.trace_id, undefined);
      assert.equal(inside!.trace_id, span.spanContext().traceId);
      assert.equal(inside!.span_id, span.spanContext().spanId);
      assert.match(String(inside!.trace_id), /^[0-9a-f]{32}$/);
    } finally {
      context.disable();
      trace.disable();
    }
  });

  test('redactUrl keeps ordinary parameters and paths untouched', () => {
    assert.equal(redactUrl('/socket/websocket?vsn=2.0.0'), '/socket/websocket?vsn=2.0.0');
    assert.equal(redactUrl('/healthz'), '/healthz');
    assert.equal(redactUrl('/x?api_key=k&user=bob'), '/x?api_key=[redacted]&user=bob');
  });

  test('scrubSecrets ignores nothing-to-hide lines and configuredSecrets skips a generated API_TOKEN', () => {
    const line = '{"msg":"switchboard listening on http://127.0.0.1:4000"}';
    assert.equal(scrubSecrets(line, [SECRET]), line);
    assert.deepEqual(
      configuredSecrets({ jwt: { secret: SECRET }, apiToken: API_TOKEN, generatedSecrets: [] }),
      [SECRET, API_TOKEN],
    );
    assert.deepEqual(
      configuredSecrets({ jwt: { secret: SECRET }, apiToken: API_TOKEN, generatedSecrets: ['API_TOKEN'] }),
      [SECRET],
    );
  });
});
