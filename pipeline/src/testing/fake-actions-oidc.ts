import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One ID token the fake issued. */
export interface IssuedIdToken {
  audience?: string;
  token: string;
}

/**
 * A fake of the Actions runtime's OIDC token endpoint that `core.getIDToken` calls
 * (`ACTIONS_ID_TOKEN_REQUEST_URL` + `&audience=`, bearer `ACTIONS_ID_TOKEN_REQUEST_TOKEN`). Tokens are
 * JWT-shaped but unsigned: the fake Dex accepts exactly the tokens listed in `issued`.
 */
export class FakeActionsIdTokenEndpoint {
  readonly issued: IssuedIdToken[] = [];
  readonly requestToken = 'actions-runtime-request-token';
  #server?: Server;
  #base = '';

  /** Environment that makes `core.getIDToken` call this fake. */
  get env(): Record<string, string> {
    return {
      ACTIONS_ID_TOKEN_REQUEST_URL: `${this.#base}/_apis/oidctoken?api-version=2.0`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: this.requestToken,
    };
  }

  /** Whether `token` is one this fake issued (pass to the fake Dex's `acceptSubjectToken`). */
  isIssued = (token: string): boolean => this.issued.some((t) => t.token === token);

  async start(subject = 'repo:acme/switchboard:ref:refs/heads/main'): Promise<this> {
    this.#server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://fake.invalid');
      if (
        req.headers.authorization !== `Bearer ${this.requestToken}` ||
        url.pathname !== '/_apis/oidctoken'
      ) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"unauthorized"}');
        return;
      }
      const audience = url.searchParams.get('audience') ?? undefined;
      const claims = {
        iss: 'https://token.actions.githubusercontent.com',
        sub: subject,
        aud: audience ?? 'https://github.com/acme',
      };
      const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.${this.issued.length + 1}`;
      this.issued.push({ audience, token });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ value: token }));
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.#base = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
