// The Prometheus client against recorded answers of a real Prometheus: each body below is what
// Debian's prometheus 2.42.0 answered to POST /api/v1/query (recorded 2026-12-05; the times are
// theirs). The answers a healthy Prometheus does not give on demand (401/403 from an auth proxy, 503
// while starting, an HTML login page, no answer at all) come from the same stand-in server.
// actions/slo-gate/test/warnings.test.ts runs the client against a live Prometheus.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  PrometheusClient,
  PrometheusError,
  isPrometheusError,
  parseHeaderLines,
  parseSampleValue,
  type PrometheusErrorCode,
} from '../src/prometheus/index.js';

interface Answer {
  status: number;
  body: string;
  type?: string;
}

const json = (status: number, body: unknown): Answer => ({ status, body: JSON.stringify(body) });
const BAD_DATA =
  '{"status":"error","errorType":"bad_data","error":"invalid parameter \\"query\\": 1:5: parse error: unclosed left parenthesis"}';

/** Answer by PromQL text. */
const answers = new Map<string, Answer>([
  [
    'label_replace(vector(0.25), "namespace", "switchboard-staging", "", "")',
    {
      status: 200,
      body: '{"status":"success","data":{"resultType":"vector","result":[{"metric":{"namespace":"switchboard-staging"},"value":[1796461263.016,"0.25"]}]}}',
    },
  ],
  [
    'vector(1) + on(x) group_left vector(1)',
    {
      status: 200,
      body: '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1796461263.727,"2"]}]}}',
    },
  ],
  [
    'scalar(vector(2))',
    {
      status: 200,
      body: '{"status":"success","data":{"resultType":"scalar","result":[1796461263.025,"2"]}}',
    },
  ],
  [
    '1/0',
    {
      status: 200,
      body: '{"status":"success","data":{"resultType":"scalar","result":[1796461263.046,"+Inf"]}}',
    },
  ],
  [
    '-1/0',
    {
      status: 200,
      body: '{"status":"success","data":{"resultType":"scalar","result":[1796461263.254,"-Inf"]}}',
    },
  ],
  [
    '0/0',
    {
      status: 200,
      body: '{"status":"success","data":{"resultType":"scalar","result":[1796461263.315,"NaN"]}}',
    },
  ],
  ['up[5m]', { status: 200, body: '{"status":"success","data":{"resultType":"matrix","result":[]}}' }],
  [
    '"text"',
    {
      status: 200,
      body: '{"status":"success","data":{"resultType":"string","result":[1796461263.538,"text"]}}',
    },
  ],
  ['sum(', { status: 400, body: BAD_DATA }],
  [
    'many-to-many',
    {
      status: 422,
      body: '{"status":"error","errorType":"execution","error":"found duplicate series for the match group {} on the right hand-side of the operation: [{a=\\"2\\"}, {a=\\"1\\"}];many-to-many matching not allowed: matching labels must be unique on one side"}',
    },
  ],
  [
    'partial',
    json(200, {
      status: 'success',
      data: { resultType: 'vector', result: [] },
      warnings: ['remote_read: connection refused'],
    }),
  ],
  ['unauthorized', { status: 401, body: 'Unauthorized\n', type: 'text/plain' }],
  ['forbidden', json(403, { error: 'tenant not allowed' })],
  ['starting', { status: 503, body: 'Service Unavailable', type: 'text/plain' }],
  ['proxy-error', json(502, { error: 'upstream reset' })],
  ['login-page', { status: 200, body: '<html><body>Sign in</body></html>', type: 'text/html' }],
  ['odd-envelope', json(200, { status: 'pending' })],
  ['odd-result', json(200, { status: 'success' })],
]);

interface Seen {
  url: string;
  headers: IncomingHttpHeaders;
  form: URLSearchParams;
}

let server: Server;
let base: string;
const seen: Seen[] = [];

before(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const form = new URLSearchParams(raw);
      seen.push({ url: req.url ?? '', headers: req.headers, form });
      const query = form.get('query') ?? '';
      if (query === 'hang') return; // never answers
      // What Prometheus answers for a path it does not serve (a wrong base URL).
      const answer =
        req.method === 'POST' && req.url === '/prom/api/v1/query'
          ? (answers.get(query) ?? { status: 500, body: `no recorded answer for ${query}` })
          : { status: 404, body: '404 page not found\n', type: 'text/plain' };
      res.writeHead(answer.status, { 'content-type': answer.type ?? 'application/json' });
      res.end(answer.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prom`;
});
after(() => {
  server.closeAllConnections();
  return new Promise<void>((r) => server.close(() => r()));
});

async function fails(
  promise: Promise<unknown>,
  code: PrometheusErrorCode,
  message: string | RegExp,
  details?: object,
): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isPrometheusError(err, code), `expected ${code}, got ${String(err)}`);
    assert.equal(err.name, 'PrometheusError');
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    if (details) assert.deepEqual(err.details, details);
    return true;
  });
}

describe('answers', () => {
  test('an instant vector keeps its labels; a scalar is one sample without labels', async () => {
    const client = new PrometheusClient({ url: base });
    assert.deepEqual(
      await client.query('label_replace(vector(0.25), "namespace", "switchboard-staging", "", "")'),
      {
        resultType: 'vector',
        samples: [{ labels: { namespace: 'switchboard-staging' }, value: 0.25 }],
        warnings: [],
      },
    );
    assert.deepEqual(await client.query('vector(1) + on(x) group_left vector(1)'), {
      resultType: 'vector',
      samples: [{ labels: {}, value: 2 }],
      warnings: [],
    });
    assert.deepEqual(await client.query('scalar(vector(2))'), {
      resultType: 'scalar',
      samples: [{ labels: {}, value: 2 }],
      warnings: [],
    });
  });

  test('+Inf, -Inf and NaN arrive as numbers', async () => {
    const client = new PrometheusClient({ url: base });
    assert.equal((await client.query('1/0')).samples[0]!.value, Infinity);
    assert.equal((await client.query('-1/0')).samples[0]!.value, -Infinity);
    assert.ok(Number.isNaN((await client.query('0/0')).samples[0]!.value));
    assert.equal(parseSampleValue('Inf'), Infinity);
    assert.equal(parseSampleValue('1e3'), 1000);
    assert.ok(Number.isNaN(parseSampleValue(5)), 'a number where the API has a string is no value');
  });

  test('warnings are passed on', async () => {
    const answer = await new PrometheusClient({ url: base }).query('partial');
    assert.deepEqual(answer.warnings, ['remote_read: connection refused']);
  });

  test('matrix and string results are refused: a gate needs one number', async () => {
    const client = new PrometheusClient({ url: base });
    await fails(
      client.query('up[5m]'),
      'PROMETHEUS_BAD_RESPONSE',
      'the query returned a matrix result; a gate query must return an instant vector or a scalar',
    );
    await fails(client.query('"text"'), 'PROMETHEUS_BAD_RESPONSE', /returned a string result/);
    await fails(client.query('odd-result'), 'PROMETHEUS_BAD_RESPONSE', /returned a undefined result/);
  });
});

describe('requests', () => {
  test('POST form with the query, a timeout in whole seconds, the time, and the caller headers', async () => {
    const client = new PrometheusClient({
      url: `${base}//`,
      headers: { Authorization: 'Bearer t0k', 'X-Scope-OrgID': 'tenant' },
      timeoutMs: 1500,
    });
    assert.equal(client.url, base, 'trailing slashes go, the path prefix stays');
    seen.length = 0;
    await client.query('scalar(vector(2))', new Date(1_700_000_000_000));
    const [req] = seen;
    assert.equal(req!.url, '/prom/api/v1/query');
    assert.equal(req!.headers.authorization, 'Bearer t0k');
    assert.equal(req!.headers['x-scope-orgid'], 'tenant');
    assert.equal(req!.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(req!.headers.accept, 'application/json');
    assert.deepEqual(Object.fromEntries(req!.form), {
      query: 'scalar(vector(2))',
      timeout: '2s',
      time: '1700000000.000',
    });
    seen.length = 0;
    await new PrometheusClient({ url: base }).query('scalar(vector(2))');
    assert.equal(seen[0]!.form.get('timeout'), '30s', 'the default timeout is 30 s');
    assert.equal(seen[0]!.form.has('time'), false, 'without a time, Prometheus evaluates at its now');
  });

  test('a URL that is not http(s) is refused before any request', () => {
    assert.throws(() => new PrometheusClient({ url: 'prometheus:9090' }), {
      message: 'Prometheus URL "prometheus:9090" must start with http:// or https://',
    });
    assert.throws(() => new PrometheusClient({ url: 'not a url' }), {
      message: 'Prometheus URL "not a url" is not a URL: use e.g. https://prometheus.example.com',
    });
  });
});

describe('failures keep their kind', () => {
  test('PromQL refused (400 bad_data) or failed (422 execution)', async () => {
    const client = new PrometheusClient({ url: base });
    await fails(
      client.query('sum('),
      'PROMETHEUS_QUERY_ERROR',
      'Prometheus rejected the query (bad_data): invalid parameter "query": 1:5: parse error: unclosed left parenthesis',
      {
        status: 400,
        errorType: 'bad_data',
        serverMessage: 'invalid parameter "query": 1:5: parse error: unclosed left parenthesis',
      },
    );
    await fails(
      client.query('many-to-many'),
      'PROMETHEUS_QUERY_ERROR',
      /^Prometheus rejected the query \(execution\): found duplicate/,
    );
  });

  test('401 and 403 point at the headers', async () => {
    const client = new PrometheusClient({ url: base });
    await fails(
      client.query('unauthorized'),
      'PROMETHEUS_UNAUTHORIZED',
      'Prometheus answered 401: check the headers input (e.g. "Authorization: Bearer <token>")',
      { status: 401, serverMessage: undefined },
    );
    await fails(client.query('forbidden'), 'PROMETHEUS_UNAUTHORIZED', /^Prometheus answered 403:/, {
      status: 403,
      serverMessage: 'tenant not allowed',
    });
  });

  test('other statuses: a wrong base URL (404), a starting server (503), a proxy error with a message', async () => {
    await fails(
      new PrometheusClient({ url: `${base}/graph` }).query('1'),
      'PROMETHEUS_HTTP_ERROR',
      'Prometheus answered HTTP 404 for /api/v1/query',
      { status: 404, serverMessage: undefined },
    );
    const client = new PrometheusClient({ url: base });
    await fails(
      client.query('starting'),
      'PROMETHEUS_HTTP_ERROR',
      'Prometheus answered HTTP 503 for /api/v1/query',
    );
    await fails(
      client.query('proxy-error'),
      'PROMETHEUS_HTTP_ERROR',
      'Prometheus answered HTTP 502 for /api/v1/query: upstream reset',
    );
  });

  test('a 200 that is not the API envelope (a login page, another status) is a bad response', async () => {
    const client = new PrometheusClient({ url: base });
    await fails(
      client.query('login-page'),
      'PROMETHEUS_BAD_RESPONSE',
      `${base}/api/v1/query did not answer with the Prometheus API's JSON (is the URL the Prometheus base URL?): <html><body>Sign in</body></html>`,
      { status: 200 },
    );
    await fails(
      client.query('odd-envelope'),
      'PROMETHEUS_BAD_RESPONSE',
      /did not answer with the Prometheus API's JSON/,
    );
  });

  test('nothing listening, or no answer in time, is unreachable', async () => {
    await fails(
      // Port 2: privileged, nothing serves it, and fetch does not block it.
      new PrometheusClient({ url: 'http://127.0.0.1:2' }).query('1'),
      'PROMETHEUS_UNREACHABLE',
      'Prometheus at http://127.0.0.1:2 is unreachable: ECONNREFUSED',
    );
    await fails(
      new PrometheusClient({ url: base, timeoutMs: 300 }).query('hang'),
      'PROMETHEUS_UNREACHABLE',
      `Prometheus at ${base} is unreachable: no answer within 300 ms`,
    );
  });

  test('isPrometheusError checks the class and, when given, the code', () => {
    const err = new PrometheusError('PROMETHEUS_WARNINGS', 'partial');
    assert.equal(isPrometheusError(err), true);
    assert.equal(isPrometheusError(err, 'PROMETHEUS_WARNINGS', 'PROMETHEUS_HTTP_ERROR'), true);
    assert.equal(isPrometheusError(err, 'PROMETHEUS_HTTP_ERROR'), false);
    assert.equal(isPrometheusError(new Error('partial')), false);
  });
});

describe('the headers input', () => {
  test('one "Name: value" per line; blank lines and comments skipped; CRLF accepted', () => {
    assert.deepEqual(parseHeaderLines('Authorization: Bearer a:b\r\n\n  # tenant\nX-Scope-OrgID :  t1  \n'), {
      Authorization: 'Bearer a:b',
      'X-Scope-OrgID': 't1',
    });
  });

  test('a malformed line is named by its number, never by its content', () => {
    assert.throws(() => parseHeaderLines('A: 1\nsecret-without-colon'), {
      message:
        'headers: line 2 is not "Name: value" (e.g. "Authorization: Bearer <token>", "X-Scope-OrgID: tenant")',
    });
    assert.throws(() => parseHeaderLines(': empty name', 'extra-headers'), /^Error: extra-headers: line 1 /);
    assert.throws(() => parseHeaderLines('Bad Name: x'), /line 1/);
  });
});
