import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  OpenApi3Validator,
  SpecViolationError,
  startFakeArgoCd,
  startFakeGitHub,
  Swagger2Validator,
  type FakeArgoCd,
  type FakeGitHub,
} from '../src/testing/index.js';

const json = 'application/json';

describe('Swagger 2.0 validation (argocd-swagger.json)', () => {
  const v = Swagger2Validator.load();

  it('accepts a well-formed sync request and matches its operation', () => {
    const op = v.validateRequest({
      method: 'POST',
      url: '/api/v1/applications/web/sync',
      contentType: json,
      body: { name: 'web', revision: 'abc123', prune: true, strategy: { hook: {} } },
    });
    assert.equal(op.operationId, 'ApplicationService_Sync');
    assert.deepEqual(op.pathParams, { name: 'web' });
  });

  it('rejects a misspelt body field (objects are closed)', () => {
    assert.throws(
      () =>
        v.validateRequest({
          method: 'POST',
          url: '/api/v1/applications/web/sync',
          contentType: json,
          body: { revison: 'x' },
        }),
      (e: unknown) =>
        e instanceof SpecViolationError &&
        /revison/.test(e.message) &&
        /additional properties/.test(e.message),
    );
  });

  it('rejects a wrongly typed body field, unknown paths, undescribed methods and bad query parameters', () => {
    const cases: [Parameters<typeof v.validateRequest>[0], RegExp][] = [
      [
        { method: 'POST', url: '/api/v1/applications/web/sync', contentType: json, body: { prune: 'yes' } },
        /prune: must be boolean/,
      ],
      [
        { method: 'POST', url: '/api/v1/applications/web/rollback', contentType: json, body: { id: '3' } },
        /id: must be integer/,
      ],
      [{ method: 'GET', url: '/api/v1/aplications/web' }, /unknown path/],
      [{ method: 'POST', url: '/api/v1/applications/web' }, /method POST is not described/],
      [{ method: 'DELETE', url: '/api/v1/applications/web?cascade=yes' }, /cascade: must be boolean/],
      [{ method: 'GET', url: '/api/v1/applications/web?verbose=true' }, /unknown query parameter "verbose"/],
      [{ method: 'POST', url: '/api/v1/applications/web/sync' }, /missing required body/],
      [
        { method: 'POST', url: '/api/v1/applications/web/sync', contentType: 'text/plain', body: {} },
        /content-type/,
      ],
    ];
    for (const [request, pattern] of cases) {
      assert.throws(() => v.validateRequest(request), pattern, `${request.method} ${request.url}`);
    }
  });

  it('checks responses against the status schema or `default` (runtimeError)', () => {
    const op = v.validateRequest({ method: 'GET', url: '/api/v1/applications/web' });
    v.validateResponse(op, 200, {
      metadata: { name: 'web' },
      status: { reconciledAt: '2025-01-01T00:00:00Z' },
    });
    v.validateResponse(op, 403, { error: 'permission denied', code: 7, message: 'permission denied' });
    assert.throws(() => v.validateResponse(op, 200, { status: { reconciledAt: 'yesterday' } }), /date-time/);
    assert.throws(() => v.validateResponse(op, 200, { status: { health: { state: 'Healthy' } } }), /state/);
    assert.throws(() => v.validateResponse(op, 500, { error: 1 }), /must be string/);
  });
});

describe('OpenAPI 3 validation (@octokit/openapi api.github.com)', () => {
  const v = OpenApi3Validator.github();

  it('matches operations and checks bodies, enums and nullable fields', () => {
    const op = v.validateRequest({
      method: 'POST',
      url: '/repos/acme/switchboard/deployments',
      contentType: json,
      body: { ref: 'a'.repeat(40), environment: 'pr-7', auto_merge: false, required_contexts: [] },
    });
    assert.equal(op.operationId, 'repos/create-deployment');
    assert.throws(
      () =>
        v.validateRequest({
          method: 'POST',
          url: '/repos/a/b/deployments/1/statuses',
          contentType: json,
          body: { state: 'destroyed' },
        }),
      /allowed values/,
    );
    assert.throws(
      () =>
        v.validateRequest({
          method: 'POST',
          url: '/repos/a/b/issues/1/comments',
          contentType: json,
          body: { text: 'hi' },
        }),
      /body: must have required property 'body'/,
    );
    assert.throws(
      () => v.validateRequest({ method: 'GET', url: '/repos/a/b/issues/1/comments?per_page=many' }),
      /per_page: must be integer/,
    );
    const list = v.validateRequest({ method: 'GET', url: '/repos/a/b/issues/1/comments?per_page=100' });
    assert.throws(() => v.validateResponse(list, 200, [{ id: 1 }]), /must have required property 'node_id'/);
  });
});

describe('the fakes validate every exchange', () => {
  let argo: FakeArgoCd;
  let github: FakeGitHub;
  before(async () => {
    argo = await startFakeArgoCd();
    argo.addApplication({ name: 'web', history: ['a'.repeat(40)] });
    github = await startFakeGitHub();
  });
  after(async () => {
    await argo.close();
    await github.close();
  });

  it('fake Argo CD answers 500 to a deliberately wrong body and assertNoViolations fails loudly', async () => {
    const response = await fetch(`${argo.url}/api/v1/applications/web/sync`, {
      method: 'POST',
      headers: { authorization: 'Bearer test-token', 'content-type': json },
      body: JSON.stringify({ name: 'web', revison: 'b'.repeat(40) }),
    });
    assert.equal(response.status, 500);
    assert.equal(argo.http.violations.length, 1);
    assert.throws(() => argo.assertNoViolations(), /1 API description violation.*\n.*revison/s);
    argo.http.violations.length = 0;
  });

  it('fake Argo CD treats an unknown path as a violation, not a 404', async () => {
    const response = await fetch(`${argo.url}/api/v1/applications/web/status`, {
      headers: { authorization: 'Bearer test-token' },
    });
    assert.equal(response.status, 500);
    assert.match(argo.http.violations[0]!.message, /unknown path/);
    argo.http.violations.length = 0;
  });

  it('fake GitHub answers 500 to a body the description forbids', async () => {
    const response = await fetch(`${github.url}/repos/acme/switchboard/issues/3/comments`, {
      method: 'POST',
      headers: { authorization: 'token gh-test-token', 'content-type': json },
      body: JSON.stringify({ body: 'hi', pinned: true }),
    });
    assert.equal(response.status, 500);
    assert.throws(() => github.assertNoViolations(), /pinned/);
    github.http.violations.length = 0;
  });
});
