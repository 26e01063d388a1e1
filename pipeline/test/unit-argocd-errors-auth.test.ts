// How Argo CD's answers become error codes (the argocd-sync action branches on them and prints the
// message), and how the action's credential inputs are read.
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import {
  ArgoCdError,
  errorFromResponse,
  isArgoCdError,
  parseBooleanInput,
  readArgoCdAuthInputs,
  resolveArgoCdToken,
} from '../src/argocd/index.js';

const call = (status: number, body: unknown) =>
  errorFromResponse('POST', '/api/v1/applications/web/sync', status, body);

test('each status and message maps to its code, with the gRPC name and the server message', () => {
  const inProgress = { code: 9, message: 'another operation is already in progress' };
  assert.equal(call(400, inProgress).code, 'ARGOCD_OPERATION_IN_PROGRESS');
  assert.equal(
    call(409, { error: 'Another Operation Is Already In Progress' }).code,
    'ARGOCD_OPERATION_IN_PROGRESS',
  );
  assert.equal(call(500, inProgress).code, 'ARGOCD_SERVER_ERROR', 'only 400 and 409 mean in progress');
  assert.equal(
    call(400, { message: 'Cannot sync: auto-sync currently set to true' }).code,
    'ARGOCD_AUTO_SYNC_CONFLICT',
  );
  assert.equal(call(400, { message: 'auto-sync is enabled' }).code, 'ARGOCD_AUTO_SYNC_CONFLICT');
  assert.equal(
    call(409, { message: 'auto-sync is enabled' }).code,
    'ARGOCD_CONFLICT',
    'auto-sync only on 400',
  );
  assert.equal(call(404, {}).code, 'ARGOCD_NOT_FOUND');
  assert.equal(call(409, {}).code, 'ARGOCD_CONFLICT');
  assert.equal(call(500, {}).code, 'ARGOCD_SERVER_ERROR');
  assert.equal(call(503, {}).code, 'ARGOCD_SERVER_ERROR');
  assert.equal(call(499, {}).code, 'ARGOCD_INVALID_REQUEST');
  assert.equal(call(400, {}).code, 'ARGOCD_INVALID_REQUEST');

  const e = call(400, { code: 3, message: 'application spec is invalid' });
  assert.equal(e.name, 'ArgoCdError');
  assert.equal(
    e.message,
    'Argo CD POST /api/v1/applications/web/sync answered 400, InvalidArgument: application spec is invalid',
  );
  assert.deepEqual(e.details, {
    status: 400,
    grpcCode: 3,
    serverMessage: 'application spec is invalid',
    method: 'POST',
    path: '/api/v1/applications/web/sync',
  });
  assert.match(call(500, { code: 99, error: 'x' }).message, /answered 500, gRPC code 99: x$/);
  assert.match(call(502, 'Bad Gateway from the proxy').message, /answered 502: Bad Gateway from the proxy$/);
  assert.equal(
    call(502, 'x'.repeat(400)).details.serverMessage,
    'x'.repeat(300),
    'a text body is cut at 300 characters',
  );
  assert.match(call(500, null).message, /answered 500: \(no message\)$/);
  assert.equal(call(500, { code: '5' }).details.grpcCode, undefined, 'a gRPC code is a number');
  const names: [number, string][] = [
    [2, 'Unknown'],
    [5, 'NotFound'],
    [6, 'AlreadyExists'],
    [7, 'PermissionDenied'],
    [9, 'FailedPrecondition'],
    [13, 'Internal'],
    [14, 'Unavailable'],
    [16, 'Unauthenticated'],
  ];
  for (const [code, name] of names)
    assert.match(call(500, { code }).message, new RegExp(`answered 500, ${name}: `));
});

test('401 and 403 say what to check', () => {
  assert.deepEqual(
    [call(401, { code: 16, message: 'invalid session' }).code, call(401, {}).message],
    [
      'ARGOCD_UNAUTHENTICATED',
      'Argo CD POST /api/v1/applications/web/sync answered 401: (no message). The token was rejected: check that it is an Argo CD API token (or that the OIDC exchange produced one) and has not expired.',
    ],
  );
  const denied = call(403, { code: 7, message: 'permission denied' });
  assert.equal(denied.code, 'ARGOCD_PERMISSION_DENIED');
  assert.equal(
    denied.message,
    'Argo CD POST /api/v1/applications/web/sync answered 403, PermissionDenied: permission denied. Either the token\'s role lacks this permission, or the application does not exist (Argo CD answers "permission denied" for missing applications).',
  );
});

test('isArgoCdError checks the class and, when given, the code', () => {
  const e = new ArgoCdError('ARGOCD_NOT_FOUND', 'gone');
  assert.deepEqual(e.details, {});
  assert.equal(isArgoCdError(e), true);
  assert.equal(isArgoCdError(e, 'ARGOCD_CONFLICT', 'ARGOCD_NOT_FOUND'), true);
  assert.equal(isArgoCdError(e, 'ARGOCD_CONFLICT'), false);
  assert.equal(isArgoCdError(new Error('gone')), false);
});

const inputs = (values: Record<string, string>) => (name: string) => values[name] ?? '';

test('credentials: a token, or OIDC with a Dex connector, never both', () => {
  assert.deepEqual(readArgoCdAuthInputs(inputs({ token: 't' })), { kind: 'token', token: 't' });
  assert.deepEqual(readArgoCdAuthInputs(inputs({ token: 't', oidc: 'false' })), {
    kind: 'token',
    token: 't',
  });
  assert.throws(() => readArgoCdAuthInputs(inputs({})), {
    message:
      'token: no Argo CD credentials. Pass an API token (`token: ${{ secrets.ARGOCD_TOKEN }}`) or set `oidc: true` with dex-connector-id.',
  });
  assert.throws(() => readArgoCdAuthInputs(inputs({ token: 't', oidc: 'true' })), {
    message: 'token and oidc: true are both set: use one way to authenticate',
  });
  assert.throws(() => readArgoCdAuthInputs(inputs({ oidc: 'true' })), {
    message:
      'dex-connector-id: required with oidc: true (the Dex connector that trusts GitHub Actions tokens)',
  });
  assert.throws(() => readArgoCdAuthInputs(inputs({ token: 't', oidc: 'yes' })), {
    message: 'oidc: "yes" is not a boolean; use true or false',
  });
  assert.deepEqual(readArgoCdAuthInputs(inputs({ oidc: 'true', 'dex-connector-id': 'github' })), {
    kind: 'oidc',
    connectorId: 'github',
    clientId: 'argo-cd-cli',
    clientSecret: undefined,
    audience: undefined,
    dexUrl: undefined,
  });
  assert.deepEqual(
    readArgoCdAuthInputs(
      inputs({
        oidc: 'True',
        'dex-connector-id': 'github',
        'dex-client-id': 'cli',
        'dex-client-secret': 's',
        'oidc-audience': 'argo',
        'dex-url': 'https://dex.example',
      }),
    ),
    {
      kind: 'oidc',
      connectorId: 'github',
      clientId: 'cli',
      clientSecret: 's',
      audience: 'argo',
      dexUrl: 'https://dex.example',
    },
  );
});

test('boolean inputs as core.getBooleanInput reads them, with a default for empty', () => {
  for (const t of ['true', 'True', 'TRUE', ' true '])
    assert.equal(parseBooleanInput('prune', t, false), true, t);
  for (const f of ['false', 'False', 'FALSE']) assert.equal(parseBooleanInput('prune', f, true), false, f);
  assert.equal(parseBooleanInput('prune', '  ', true), true);
  assert.equal(parseBooleanInput('prune', '', false), false);
  assert.throws(() => parseBooleanInput('prune', 'yes', false), {
    message: 'prune: "yes" is not a boolean; use true or false',
  });
  assert.throws(() => parseBooleanInput('prune', 'tRUE', false), /not a boolean/);
});

test('a token is used as is; a failing OIDC token request says which permission is missing', async () => {
  const never = () => Promise.reject(new Error('not called'));
  assert.equal(await resolveArgoCdToken({ kind: 'token', token: 'abc' }, 'https://argo', never), 'abc');
  let askedFor: string | undefined = 'unset';
  await assert.rejects(
    resolveArgoCdToken(
      { kind: 'oidc', connectorId: 'c', clientId: 'x', audience: 'aud' },
      'https://argo',
      (a) => {
        askedFor = a;
        return Promise.reject(new Error('ACTIONS_ID_TOKEN_REQUEST_URL is not set'));
      },
    ),
    {
      message:
        "oidc: cannot get the workflow's GitHub OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is not set). Give the job `permissions: id-token: write`, or use `token` instead.",
    },
  );
  assert.equal(askedFor, 'aud');
  const denied = new Error('permission denied');
  await assert.rejects(
    resolveArgoCdToken({ kind: 'oidc', connectorId: 'c', clientId: 'x' }, 'https://argo', () =>
      Promise.reject(denied),
    ),
    (e: unknown) => e instanceof Error && e.cause === denied,
  );
  await assert.rejects(
    resolveArgoCdToken({ kind: 'oidc', connectorId: 'c', clientId: 'x' }, 'https://argo', () =>
      Promise.reject('plain'),
    ),
    /OIDC token \(plain\)/,
  );
});

test('OIDC: the GitHub ID token is exchanged at Dex with the connector and client of the inputs', async (t) => {
  const posted: { url: string; form: Record<string, string> }[] = [];
  const fetch = mock.method(globalThis, 'fetch', (url: URL | RequestInfo, init?: RequestInit) => {
    posted.push({ url: String(url), form: Object.fromEntries(new URLSearchParams(String(init?.body))) });
    return Promise.resolve(Response.json({ access_token: 'dex-token' }));
  });
  t.after(() => fetch.mock.restore());
  const token = await resolveArgoCdToken(
    {
      kind: 'oidc',
      connectorId: 'github',
      clientId: 'cli',
      clientSecret: 's',
      dexUrl: 'https://dex.example',
    },
    'https://argo.example',
    () => Promise.resolve('gh-id-token'),
  );
  assert.equal(token, 'dex-token');
  assert.equal(posted.length, 1);
  assert.equal(posted[0]!.url, 'https://dex.example/token');
  assert.deepEqual(
    [
      posted[0]!.form.subject_token,
      posted[0]!.form.connector_id,
      posted[0]!.form.client_id,
      posted[0]!.form.client_secret,
    ],
    ['gh-id-token', 'github', 'cli', 's'],
  );
  await resolveArgoCdToken({ kind: 'oidc', connectorId: 'github', clientId: 'cli' }, 'argo.example', () =>
    Promise.resolve('gh-id-token'),
  );
  assert.equal(posted[1]!.url, 'https://argo.example/api/dex/token');
});
