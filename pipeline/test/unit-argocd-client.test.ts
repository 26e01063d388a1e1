// The Argo CD client and the Dex exchange with an injected fetch: the request each call sends
// (method, URL with its query, headers, body), how every kind of answer becomes a result or an
// ArgoCdError, and the server URL forms accepted. argocd-client.test.ts runs the same client against
// the fake Argo CD server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ACCESS_TOKEN_TYPE,
  ArgoCdClient,
  ArgoCdError,
  ID_TOKEN_TYPE,
  TOKEN_EXCHANGE_GRANT,
  exchangeIdTokenWithDex,
  normalizeServerUrl,
  type Application,
} from '../src/argocd/index.js';

interface Sent {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  signal: AbortSignal | undefined;
}

/** A fetch that records each request and answers with `status` and `body` (text). */
function recorder(status = 200, body = '{}') {
  const sent: Sent[] = [];
  const fetch = (url: URL | RequestInfo, init?: RequestInit) => {
    sent.push({
      url: String(url),
      method: init?.method ?? 'GET',
      headers: { ...(init?.headers as Record<string, string>) },
      body: init?.body as string | undefined,
      signal: init?.signal ?? undefined,
    });
    return Promise.resolve(new Response(body, { status }));
  };
  return { sent, fetch: fetch as typeof globalThis.fetch };
}

const failing = (error: unknown) => (() => Promise.reject(error)) as typeof fetch;

function client(fetch: typeof globalThis.fetch, extra: { userAgent?: string; server?: string } = {}) {
  return new ArgoCdClient({ server: extra.server ?? 'https://argo.example', token: 'tok', fetch, ...extra });
}

test('server URLs: scheme added to a bare host, trailing slashes and spaces dropped, path kept', () => {
  assert.equal(normalizeServerUrl('argocd.example.com'), 'https://argocd.example.com');
  assert.equal(normalizeServerUrl('argocd:8443'), 'https://argocd:8443');
  assert.equal(normalizeServerUrl('  https://argo.example//  '), 'https://argo.example');
  assert.equal(normalizeServerUrl('https://argo.example/argo-cd/'), 'https://argo.example/argo-cd');
  assert.equal(normalizeServerUrl('HTTPS://Argo.Example'), 'https://argo.example');
  assert.equal(normalizeServerUrl('http://argo.example:8080'), 'http://argo.example:8080');
  assert.equal(
    normalizeServerUrl('argo.example/login?return=https://argo.example'),
    'https://argo.example/login?return=https://argo.example',
    'a scheme counts only at the start',
  );
  for (const empty of ['', '   ', '/', ' // '])
    assert.throws(() => normalizeServerUrl(empty), {
      message: 'server is empty: set it to the argocd-server URL, e.g. https://argocd.example.com',
    });
  assert.throws(() => normalizeServerUrl('https://argo example'), {
    message:
      'server "https://argo example" is not a URL: set it to the argocd-server URL, e.g. https://argocd.example.com',
  });
  assert.throws(() => normalizeServerUrl('ws://argo.example'), {
    message: 'server "ws://argo.example" must be an http(s) URL',
  });
  assert.throws(() => normalizeServerUrl('git+ssh://argo.example'), /must be an http\(s\) URL/);
});

test('the client needs a token and keeps the normalized base URL', () => {
  assert.throws(() => new ArgoCdClient({ server: 'https://argo.example', token: '' }), {
    message: 'token is empty: pass an Argo CD API token or enable OIDC',
  });
  assert.equal(client(recorder().fetch, { server: 'argo.example/' }).baseUrl, 'https://argo.example');
});

test('each call sends its method, path, query and body with the token and JSON headers', async () => {
  const { sent, fetch } = recorder(200, '{"metadata":{"name":"web"}}');
  const argo = client(fetch, { server: 'https://argo.example/cd' });
  const app: Application = { metadata: { name: 'a/b' }, spec: { project: 'p' } };

  assert.deepEqual(await argo.getApplication('a/b', { appNamespace: 'team', refresh: 'hard' }), {
    metadata: { name: 'web' },
  });
  await argo.getApplication('web', { appNamespace: '' });
  await argo.syncApplication('web', { revision: 'abc', prune: false });
  await argo.getResourceTree('web', { appNamespace: 'team' });
  await argo.getResourceTree('web');
  await argo.createApplication(app, { upsert: true, validate: false });
  await argo.createApplication(app);
  await argo.updateApplication(app, { validate: true });
  await argo.deleteApplication('web', { cascade: false, appNamespace: 'team' });
  await argo.rollbackApplication('web', { id: 3, prune: true });
  await argo.terminateOperation('web', { appNamespace: 'team' });
  await argo.terminateOperation('web');

  assert.deepEqual(
    sent.map((s) => `${s.method} ${s.url}`),
    [
      'GET https://argo.example/cd/api/v1/applications/a%2Fb?appNamespace=team&refresh=hard',
      'GET https://argo.example/cd/api/v1/applications/web',
      'POST https://argo.example/cd/api/v1/applications/web/sync',
      'GET https://argo.example/cd/api/v1/applications/web/resource-tree?appNamespace=team',
      'GET https://argo.example/cd/api/v1/applications/web/resource-tree',
      'POST https://argo.example/cd/api/v1/applications?upsert=true&validate=false',
      'POST https://argo.example/cd/api/v1/applications',
      'PUT https://argo.example/cd/api/v1/applications/a%2Fb?validate=true',
      'DELETE https://argo.example/cd/api/v1/applications/web?cascade=false&appNamespace=team',
      'POST https://argo.example/cd/api/v1/applications/web/rollback',
      'DELETE https://argo.example/cd/api/v1/applications/web/operation?appNamespace=team',
      'DELETE https://argo.example/cd/api/v1/applications/web/operation',
    ],
  );
  assert.deepEqual(
    sent.map((s) => s.body),
    [
      undefined,
      undefined,
      '{"name":"web","revision":"abc","prune":false}',
      undefined,
      undefined,
      JSON.stringify(app),
      JSON.stringify(app),
      JSON.stringify(app),
      undefined,
      '{"name":"web","id":3,"prune":true}',
      undefined,
      undefined,
    ],
  );
  assert.deepEqual(sent[0]!.headers, {
    authorization: 'Bearer tok',
    accept: 'application/json',
    'user-agent': 'switchboard-actions',
  });
  assert.deepEqual(sent[2]!.headers, {
    authorization: 'Bearer tok',
    accept: 'application/json',
    'user-agent': 'switchboard-actions',
    'content-type': 'application/json',
  });
  assert.ok(sent.every((s) => s.signal instanceof AbortSignal && !s.signal.aborted));

  const custom = recorder();
  await client(custom.fetch, { userAgent: 'argocd-sync/1.0' }).getApplication('web');
  assert.equal(custom.sent[0]!.headers['user-agent'], 'argocd-sync/1.0');
  assert.throws(() => argo.updateApplication({ spec: {} }), {
    message: 'updateApplication: app.metadata.name is required',
  });
});

test('answers: an empty body is an empty object, a non-JSON 2xx names the URL, errors keep the text', async () => {
  assert.deepEqual(await client(recorder(200, '').fetch).getApplication('web'), {});
  assert.deepEqual(await client(recorder(200, ' \n ').fetch).getApplication('web'), {});
  assert.equal(await client(recorder(200, '').fetch).deleteApplication('web', { cascade: true }), undefined);

  const html = `<html>${'x'.repeat(100)}</html>`;
  await assert.rejects(client(recorder(200, html).fetch).getApplication('web'), (e: unknown) => {
    assert.ok(e instanceof ArgoCdError);
    assert.equal(e.code, 'ARGOCD_BAD_RESPONSE');
    assert.equal(
      e.message,
      `Argo CD GET /api/v1/applications/web answered 200 with a non-JSON body (${html.slice(0, 80)}...): is "https://argo.example" the argocd-server API URL?`,
    );
    assert.deepEqual(e.details, { status: 200, method: 'GET', path: '/api/v1/applications/web' });
    return true;
  });

  await assert.rejects(client(recorder(502, 'Bad Gateway').fetch).getApplication('web'), (e: unknown) => {
    assert.ok(e instanceof ArgoCdError);
    assert.equal(e.code, 'ARGOCD_SERVER_ERROR');
    assert.equal(e.details.serverMessage, 'Bad Gateway');
    assert.equal(e.details.path, '/api/v1/applications/web');
    return true;
  });
  await assert.rejects(
    client(recorder(403, '{"code":7,"message":"permission denied"}').fetch).syncApplication('web', {}),
    (e: unknown) => {
      assert.ok(e instanceof ArgoCdError);
      assert.deepEqual(
        [e.code, e.details.grpcCode, e.details.method, e.details.path],
        ['ARGOCD_PERMISSION_DENIED', 7, 'POST', '/api/v1/applications/web/sync'],
      );
      return true;
    },
  );
});

test('an unreachable server: the deepest cause is named, the original kept as cause', async () => {
  const refused = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:443') });
  await assert.rejects(client(failing(refused)).getApplication('web'), (e: unknown) => {
    assert.ok(e instanceof ArgoCdError);
    assert.equal(e.code, 'ARGOCD_UNREACHABLE');
    assert.equal(
      e.message,
      'cannot reach Argo CD at https://argo.example (GET /api/v1/applications/web): connect ECONNREFUSED 127.0.0.1:443',
    );
    assert.deepEqual(e.details, { method: 'GET', path: '/api/v1/applications/web' });
    assert.equal(e.cause, refused);
    return true;
  });
  await assert.rejects(client(failing(new Error('socket hang up'))).getApplication('web'), {
    message: 'cannot reach Argo CD at https://argo.example (GET /api/v1/applications/web): socket hang up',
  });
  await assert.rejects(
    client(failing(new Error('outer', { cause: 'not an Error' }))).getApplication('web'),
    /: outer$/,
  );
  await assert.rejects(client(failing('plain text')).getApplication('web'), /: plain text$/);
});

test('the request timeout aborts a request that does not answer', async () => {
  const hanging = ((_url: unknown, init?: RequestInit) =>
    new Promise((_resolve, reject) => {
      init?.signal?.addEventListener('abort', () => reject(init.signal!.reason as Error));
    })) as typeof fetch;
  const argo = new ArgoCdClient({ server: 'argo.example', token: 't', fetch: hanging, requestTimeoutMs: 20 });
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    argo.getApplication('web').then(
      () => 'answered',
      (e: unknown) => (e instanceof ArgoCdError ? e.code : 'other error'),
    ),
    new Promise((resolve) => (timer = setTimeout(resolve, 2000, 'still waiting after 2 s'))),
  ]);
  clearTimeout(timer);
  assert.equal(outcome, 'ARGOCD_UNREACHABLE');
});

const dexOptions = {
  server: 'https://argo.example',
  idToken: 'gh-id-token',
  connectorId: 'github',
  clientId: 'cli',
};

test('Dex exchange: the token-exchange form posted to <server>/api/dex/token or dex-url', async () => {
  const ok = '{"access_token":"dex-1","issued_token_type":"urn:x","expires_in":300}';
  const { sent, fetch } = recorder(200, ok);
  assert.deepEqual(await exchangeIdTokenWithDex({ ...dexOptions, fetch }), {
    token: 'dex-1',
    issuedTokenType: 'urn:x',
    expiresInSeconds: 300,
  });
  assert.equal(sent[0]!.url, 'https://argo.example/api/dex/token');
  assert.equal(sent[0]!.method, 'POST');
  assert.deepEqual(sent[0]!.headers, {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  });
  assert.ok(sent[0]!.signal instanceof AbortSignal);
  assert.deepEqual(Object.fromEntries(new URLSearchParams(sent[0]!.body)), {
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: 'gh-id-token',
    subject_token_type: ID_TOKEN_TYPE,
    requested_token_type: ID_TOKEN_TYPE,
    connector_id: 'github',
    client_id: 'cli',
    scope: 'openid groups',
  });
  assert.equal(TOKEN_EXCHANGE_GRANT, 'urn:ietf:params:oauth:grant-type:token-exchange');
  assert.equal(ID_TOKEN_TYPE, 'urn:ietf:params:oauth:token-type:id_token');
  assert.equal(ACCESS_TOKEN_TYPE, 'urn:ietf:params:oauth:token-type:access_token');

  await exchangeIdTokenWithDex({
    ...dexOptions,
    server: 'argo.example',
    dexUrl: 'dex.example/',
    clientSecret: 's3cret',
    scope: 'openid',
    requestedTokenType: 'access_token',
    fetch,
  });
  assert.equal(sent[1]!.url, 'https://dex.example/token');
  const form = Object.fromEntries(new URLSearchParams(sent[1]!.body));
  assert.deepEqual(
    [form.requested_token_type, form.scope, form.client_secret],
    [ACCESS_TOKEN_TYPE, 'openid', 's3cret'],
  );
  await exchangeIdTokenWithDex({ ...dexOptions, requestedTokenType: 'id_token', fetch });
  assert.equal(new URLSearchParams(sent[2]!.body).get('requested_token_type'), ID_TOKEN_TYPE);

  assert.deepEqual(
    await exchangeIdTokenWithDex({ ...dexOptions, fetch: recorder(200, '{"access_token":"t"}').fetch }),
    {
      token: 't',
      issuedTokenType: ID_TOKEN_TYPE,
      expiresInSeconds: undefined,
    },
  );
  assert.deepEqual(
    await exchangeIdTokenWithDex({
      ...dexOptions,
      fetch: recorder(200, '{"access_token":"t","issued_token_type":7,"expires_in":"300"}').fetch,
    }),
    { token: 't', issuedTokenType: ID_TOKEN_TYPE, expiresInSeconds: undefined },
  );
});

test('Dex exchange: empty inputs, an unreachable Dex and refusals name the fix', async () => {
  const never = failing(new Error('not called'));
  for (const field of ['idToken', 'connectorId', 'clientId'] as const)
    await assert.rejects(exchangeIdTokenWithDex({ ...dexOptions, [field]: '', fetch: never }), {
      message: `Dex token exchange: ${field} is empty`,
    });

  const down = new Error('getaddrinfo ENOTFOUND argo.example');
  await assert.rejects(exchangeIdTokenWithDex({ ...dexOptions, fetch: failing(down) }), (e: unknown) => {
    assert.ok(e instanceof ArgoCdError);
    assert.equal(e.code, 'DEX_EXCHANGE_FAILED');
    assert.equal(
      e.message,
      'cannot reach Dex at https://argo.example/api/dex/token: Error: getaddrinfo ENOTFOUND argo.example',
    );
    assert.deepEqual(e.details, {});
    assert.equal(e.cause, down);
    return true;
  });

  const hint =
    'Check that connector "github" exists, trusts https://token.actions.githubusercontent.com, ' +
    'lists urn:ietf:params:oauth:grant-type:token-exchange in grantTypes, and that client "cli" may use it.';
  const refusal = async (status: number, body: string) => {
    try {
      await exchangeIdTokenWithDex({ ...dexOptions, fetch: recorder(status, body).fetch });
    } catch (e) {
      assert.ok(e instanceof ArgoCdError);
      assert.equal(e.code, 'DEX_EXCHANGE_FAILED');
      return { message: e.message, details: e.details };
    }
    assert.fail('expected the exchange to fail');
  };
  assert.deepEqual(
    await refusal(400, '{"error":"invalid_request","error_description":"connector does not exist"}'),
    {
      message: `Dex token exchange at https://argo.example/api/dex/token failed (400): invalid_request: connector does not exist. ${hint}`,
      details: { status: 400, serverMessage: 'invalid_request: connector does not exist' },
    },
  );
  assert.deepEqual(await refusal(401, '{"error":"access_denied","error_description":""}'), {
    message: `Dex token exchange at https://argo.example/api/dex/token failed (401): access_denied. ${hint}`,
    details: { status: 401, serverMessage: 'access_denied' },
  });
  assert.deepEqual(await refusal(400, '{"error":3,"error_description":"bad"}'), {
    message: `Dex token exchange at https://argo.example/api/dex/token failed (400): bad. ${hint}`,
    details: { status: 400, serverMessage: 'bad' },
  });
  const page = `<html>${'y'.repeat(300)}</html>`;
  assert.equal(
    (await refusal(502, page)).message,
    `Dex token exchange at https://argo.example/api/dex/token failed (502): ${page.slice(0, 200)}. ${hint}`,
  );
  assert.equal(
    (await refusal(200, '')).message,
    `Dex token exchange at https://argo.example/api/dex/token failed (200): no token in answer. ${hint}`,
  );
  assert.equal(
    (await refusal(200, '{"access_token":""}')).message,
    `Dex token exchange at https://argo.example/api/dex/token failed (200): {"access_token":""}. ${hint}`,
  );
  assert.equal(
    (await refusal(200, '{"access_token":123}')).message,
    `Dex token exchange at https://argo.example/api/dex/token failed (200): {"access_token":123}. ${hint}`,
    'a token is a string',
  );
  assert.equal(
    (await refusal(500, '{"access_token":"t"}')).details.status,
    500,
    'a token in an error answer is not used',
  );
});
