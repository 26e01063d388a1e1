import { ArgoCdError } from './errors.js';
import { normalizeServerUrl } from './client.js';

/** RFC 8693 names Dex understands. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** What to exchange and where. */
export interface DexExchangeOptions {
  /** argocd-server URL; Dex is reached at `<server>/api/dex` unless `dexUrl` is given. */
  server: string;
  /** Dex issuer URL when Dex is not the one bundled behind argocd-server. */
  dexUrl?: string;
  /** The GitHub Actions OIDC token (from `core.getIDToken`) -- the subject token. */
  idToken: string;
  /** Dex connector that trusts GitHub's issuer (type `oidc`, `grantTypes` incl. token-exchange). */
  connectorId: string;
  /** Dex client to issue the token for: Argo CD accepts `argo-cd` and `argo-cd-cli` audiences. */
  clientId: string;
  /** Only for confidential clients. */
  clientSecret?: string;
  /** Default `openid groups`: groups carry the RBAC mapping. */
  scope?: string;
  /** Which token Dex should issue; Argo CD verifies Dex ID tokens, so the default is `id_token`. */
  requestedTokenType?: 'id_token' | 'access_token';
  fetch?: typeof fetch;
  requestTimeoutMs?: number;
}

/** The token to use as Argo CD bearer, with its lifetime. */
export interface DexToken {
  token: string;
  issuedTokenType: string;
  expiresInSeconds?: number;
}

/**
 * Exchanges a GitHub Actions OIDC ID token for a Dex-issued token that Argo CD accepts as a bearer token
 * (Dex `token-exchange` grant, `POST <dex>/token`). Throws {@link ArgoCdError} `DEX_EXCHANGE_FAILED`
 * with Dex's `error`/`error_description` and a hint at the usual misconfiguration.
 */
export async function exchangeIdTokenWithDex(options: DexExchangeOptions): Promise<DexToken> {
  for (const field of ['idToken', 'connectorId', 'clientId'] as const) {
    if (!options[field]) throw new Error(`Dex token exchange: ${field} is empty`);
  }
  const base = options.dexUrl
    ? normalizeServerUrl(options.dexUrl)
    : `${normalizeServerUrl(options.server)}/api/dex`;
  const endpoint = `${base}/token`;
  const form = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: options.idToken,
    subject_token_type: ID_TOKEN_TYPE,
    requested_token_type: options.requestedTokenType === 'access_token' ? ACCESS_TOKEN_TYPE : ID_TOKEN_TYPE,
    connector_id: options.connectorId,
    client_id: options.clientId,
    scope: options.scope ?? 'openid groups',
  });
  if (options.clientSecret) form.set('client_secret', options.clientSecret);

  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      signal: AbortSignal.timeout(options.requestTimeoutMs ?? 30_000),
    });
  } catch (cause) {
    throw new ArgoCdError(
      'DEX_EXCHANGE_FAILED',
      `cannot reach Dex at ${endpoint}: ${String(cause)}`,
      {},
      { cause },
    );
  }
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // reported below with the raw text
  }
  const token = typeof body.access_token === 'string' ? body.access_token : '';
  if (!response.ok || !token) {
    const reason = [body.error, body.error_description].filter((x) => typeof x === 'string' && x).join(': ');
    throw new ArgoCdError(
      'DEX_EXCHANGE_FAILED',
      `Dex token exchange at ${endpoint} failed (${response.status}): ${reason || text.slice(0, 200) || 'no token in answer'}. ` +
        `Check that connector "${options.connectorId}" exists, trusts https://token.actions.githubusercontent.com, ` +
        `lists urn:ietf:params:oauth:grant-type:token-exchange in grantTypes, and that client "${options.clientId}" may use it.`,
      { status: response.status, serverMessage: reason },
    );
  }
  return {
    token,
    issuedTokenType: typeof body.issued_token_type === 'string' ? body.issued_token_type : ID_TOKEN_TYPE,
    expiresInSeconds: typeof body.expires_in === 'number' ? body.expires_in : undefined,
  };
}
