// Issue 12 items 6 and 7: the server routes on the raw request target, so what nginx (with the
// Ingress's `/socket` and `/api` locations) forwards can only reach those routes; /metrics and the
// probes live on METRICS_PORT; /demo/token exists only with a generated secret or DEMO_TOKENS=true.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  startNginx,
  startSwitchboard,
  type NginxProxy,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { rawGet } from '../support/raw-http.js';

/** The Ingress's path prefixes (base/server/ingress.yaml). */
const INGRESS_PATHS = ['/socket', '/api'];

describe('request targets behind nginx with the Ingress locations', () => {
  let sb: SwitchboardProcess;
  let nginx: NginxProxy;
  before(async () => {
    // Dev, with JWT_SECRET generated at start-up: /demo/token exists on the server.
    sb = await startSwitchboard({ JWT_SECRET: '', NODE_ENV: 'development' });
    nginx = await startNginx([sb.port], { paths: INGRESS_PATHS });
  });
  after(async () => {
    await nginx?.stop();
    await sb?.stop('SIGKILL');
  });

  for (const target of [
    '/api/\\..\\..\\metrics',
    '/socket/\\..\\..\\demo/token?user=x',
    '/api/%2e%2e/metrics',
    '/api/.%2E/demo/token?user=x',
    '/api/%5c..%5c..%5cmetrics',
    '/socket//..//demo/token?user=x',
    '/api/topics/room:a/../../../metrics',
  ]) {
    test(`${target} reaches neither /metrics nor /demo/token`, async () => {
      const res = await rawGet(nginx.port, target);
      assert.ok([400, 404].includes(res.status), `status ${res.status}: ${res.body.slice(0, 200)}`);
      assert.doesNotMatch(res.body, /switchboard_|"token"/);
    });
  }

  test('the server itself answers 400 naming the problem (no normalisation)', async () => {
    for (const [target, problem] of [
      ['/api/\\..\\..\\metrics', /backslashes/],
      ['/socket/%2e%2e/demo/token?user=x', /or \\"\.\.\\" segments/],
      ['/socket//demo/token?user=x', /empty segments/],
      ['http://127.0.0.1/demo/token?user=x', /absolute-form/],
    ] as const) {
      const res = await rawGet(sb.port, target);
      assert.equal(res.status, 400, target);
      assert.match(res.body, problem, target);
    }
    const upgrade = await rawGet(sb.port, '/socket/../socket/websocket?vsn=2.0.0', {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    });
    assert.equal(upgrade.status, 400, upgrade.body);
  });

  test('/metrics and the probes answer on METRICS_PORT only', async () => {
    for (const path of ['/metrics', '/healthz', '/readyz']) {
      assert.equal((await rawGet(sb.port, path)).status, 404, `${path} on PORT`);
      assert.equal((await rawGet(sb.metricsPort, path)).status, 200, `${path} on METRICS_PORT`);
    }
  });

  test('the dev demo still works through the proxy path the page uses', async () => {
    const res = await rawGet(sb.port, '/demo/token?user=alice');
    assert.equal(res.status, 200);
    assert.match(res.body, /"token":"ey/);
  });
});

describe('/demo/token needs a generated secret or DEMO_TOKENS=true', () => {
  const started: SwitchboardProcess[] = [];
  after(async () => {
    await Promise.all(started.map((s) => s.stop('SIGKILL')));
  });
  const demoStatus = async (env: Record<string, string>) => {
    const s = await startSwitchboard(env);
    started.push(s);
    return (await rawGet(s.port, '/demo/token?user=alice')).status;
  };

  test('a configured JWT_SECRET outside production: no demo tokens', async () => {
    assert.equal(await demoStatus({ NODE_ENV: 'development' }), 404);
    assert.equal(await demoStatus({ NODE_ENV: 'test' }), 404);
  });

  test('DEMO_TOKENS=true opts in with a configured secret', async () => {
    assert.equal(await demoStatus({ NODE_ENV: 'development', DEMO_TOKENS: 'true' }), 200);
  });

  test('an unknown NODE_ENV does not start', async () => {
    await assert.rejects(startSwitchboard({ NODE_ENV: 'staging' }), /NODE_ENV="staging" is unknown/);
  });
});
