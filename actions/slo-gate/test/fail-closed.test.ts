// The gate fails closed (issue 20 §2): every answer that is not exactly one finite number, and every
// way Prometheus can fail to answer, makes an objective inconclusive -- never a pass. Each case below
// is built so that a gate which took the value anyway (the first of several series, +Inf against a
// `>=` limit, a timeout read as "no error") would pass it.
//
// Answer shapes come from the real Prometheus: several series, +Inf, -Inf and NaN are real query
// results in Prometheus' own JSON encoding ("+Inf", "NaN" as strings), and a wrong base path is its
// own 404. A small local HTTP server plays only what a real Prometheus does not produce on demand: a
// process that accepts a request and never answers (or stops half-way through the body), and the
// 401/403/500/200 pages with HTML or plain-text bodies that the proxies in front of Prometheus
// (oauth2-proxy, nginx, a login page) return.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startPrometheus, type PrometheusServer } from '../../../testkit/src/index.js';
import { runAction, type ActionInputs } from '../../../pipeline/src/testing/index.js';
import { run } from '../src/main.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'slo-gate-fail-closed-'));
const SELECTOR = 'namespace="switchboard-staging"';

interface Objective {
  name: string;
  query: string;
  comparator: '>=' | '<=';
  limit: number;
}

/** Writes a gate file with these objectives and returns its path. */
function gateFile(name: string, objectives: Objective[]): string {
  const path = join(tmp, `${name}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      version: 1,
      objectives: objectives.map((o) => ({ description: '', unit: 'ratio', ...o })),
    }),
  );
  return path;
}

function gate(url: string, inputs: ActionInputs) {
  return runAction(run, {
    inputs: { 'prometheus-url': url, selector: SELECTOR, window: '1m', ...inputs },
    env: { GITHUB_WORKSPACE: repo },
  });
}

interface OutputObjective {
  name: string;
  verdict: string;
  value: number | null;
  reason: string;
}

function objectives(outputs: Record<string, string>): Map<string, OutputObjective> {
  const list = JSON.parse(outputs.objectives ?? '[]') as OutputObjective[];
  return new Map(list.map((o) => [o.name, o]));
}

describe('slo-gate fails closed on answers a real Prometheus gives', () => {
  let prometheus: PrometheusServer;
  before(async () => {
    prometheus = await startPrometheus({ scrapeTargets: [] });
  });
  after(async () => {
    await prometheus?.stop();
  });

  it('is inconclusive for several series, +Inf, -Inf and NaN, where taking the value would pass', async () => {
    const file = gateFile('shapes', [
      // Two series of 1: a gate reading the first sample would see 1 >= 1.
      {
        name: 'several-series',
        query: 'label_replace(vector(1), "pod", "a", "", "") or label_replace(vector(1), "pod", "b", "", "")',
        comparator: '>=',
        limit: 1,
      },
      // A ratio over zero requests of a broken division, or a quantile above the highest bucket.
      { name: 'plus-inf', query: 'vector(1) / 0', comparator: '>=', limit: 0.999 },
      { name: 'minus-inf', query: 'vector(-1) / 0', comparator: '<=', limit: 0.01 },
      { name: 'nan', query: 'vector(0) / 0', comparator: '<=', limit: 1 },
      // The control: one finite sample is judged.
      { name: 'one-sample', query: 'vector(1)', comparator: '>=', limit: 1 },
    ]);
    const result = await gate(prometheus.url, { 'gate-file': file });
    assert.equal(result.failed, true);
    assert.equal(result.outputs.verdict, 'inconclusive', result.log);
    const byName = objectives(result.outputs);
    assert.deepEqual(
      [...byName].map(([name, o]) => [name, o.verdict, o.value]),
      [
        ['several-series', 'inconclusive', null],
        ['plus-inf', 'inconclusive', null],
        ['minus-inf', 'inconclusive', null],
        ['nan', 'inconclusive', null],
        ['one-sample', 'pass', 1],
      ],
    );
    assert.match(
      byName.get('several-series')!.reason,
      /returned 2 series; a gate query must aggregate to one/,
    );
    assert.match(byName.get('plus-inf')!.reason, /the value is Infinity/);
    assert.match(byName.get('minus-inf')!.reason, /the value is -Infinity/);
    assert.match(byName.get('nan')!.reason, /the value is NaN/);
  });

  it('is inconclusive when the URL is not the base URL and Prometheus answers its plain-text 404', async () => {
    const result = await gate(`${prometheus.url}/prometheus`, { objectives: 'ws-connect-success' });
    assert.equal(result.failed, true);
    assert.equal(result.outputs.verdict, 'inconclusive');
    assert.match(
      objectives(result.outputs).get('ws-connect-success')!.reason,
      /Prometheus answered HTTP 404 for \/api\/v1\/query/,
    );
  });
});

describe('slo-gate fails closed when Prometheus does not answer or a proxy answers for it', () => {
  type Handler = (request: IncomingMessage, response: ServerResponse) => void;
  let handler: Handler = () => {};
  let url = '';
  /** Responses held open by a handler that never ends them; closed in after(). */
  const held = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    held.add(response);
    response.on('close', () => held.delete(response));
    request.resume();
    handler(request, response);
  });
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const response of held) response.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('is inconclusive for every objective when Prometheus accepts the query and never answers', async () => {
    let requests = 0;
    handler = () => {
      requests += 1; // and never respond
    };
    const result = await gate(url, { 'query-timeout-seconds': 1 });
    assert.equal(result.failed, true);
    assert.equal(result.outputs.verdict, 'inconclusive');
    const all = [...objectives(result.outputs).values()];
    assert.equal(all.length, 8);
    for (const o of all) {
      assert.equal(o.verdict, 'inconclusive', o.name);
      assert.match(o.reason, /is unreachable: no answer within 1000 ms/, o.name);
    }
    assert.ok(requests >= 8, `${requests} request(s) reached the server`);
  });

  it('is inconclusive when the answer starts and the body stalls past the timeout', async () => {
    handler = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      // Half an envelope: a gate that parsed what arrived, or waited for the rest forever, would be wrong.
      response.write(
        '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"',
      );
    };
    const result = await gate(url, { 'query-timeout-seconds': 1, objectives: 'ws-connect-success' });
    assert.equal(result.failed, true);
    assert.equal(result.outputs.verdict, 'inconclusive');
    const o = objectives(result.outputs).get('ws-connect-success');
    assert.equal(o?.verdict, 'inconclusive', result.log);
    assert.match(o.reason, /no answer within 1000 ms/);
  });

  const pages: [status: number, type: string, body: string, reason: RegExp][] = [
    [401, 'text/plain', 'Unauthorized\n', /Prometheus answered 401: check the headers input/],
    [
      403,
      'text/html',
      '<html><body>403 Forbidden</body></html>',
      /Prometheus answered 403: check the headers/,
    ],
    [500, 'text/plain', 'Internal Server Error\n', /Prometheus answered HTTP 500 for \/api\/v1\/query/],
    [
      200,
      'text/html',
      '<html><body><form action="/oauth2/sign_in">Sign in</form></body></html>',
      /did not answer with the Prometheus API's JSON .*Sign in/,
    ],
  ];
  for (const [status, type, body, reason] of pages) {
    it(`is inconclusive when a ${status} ${type} page answers instead of the API`, async () => {
      handler = (_request, response) => {
        response.writeHead(status, { 'content-type': type });
        response.end(body);
      };
      const result = await gate(url, { objectives: 'ws-connect-success, join-success' });
      assert.equal(result.failed, true);
      assert.equal(result.outputs.verdict, 'inconclusive');
      for (const o of objectives(result.outputs).values()) {
        assert.equal(o.verdict, 'inconclusive', o.name);
        assert.match(o.reason, reason, o.name);
      }
    });
  }
});
