import { exchangeIdTokenWithDex } from './dex.js';

/**
 * How an action authenticates to Argo CD, parsed from its inputs. Either a static API token, or
 * GitHub OIDC exchanged through Dex (no long-lived secret in the repository).
 */
export type ArgoCdAuth =
  | { kind: 'token'; token: string }
  | {
      kind: 'oidc';
      connectorId: string;
      clientId: string;
      clientSecret?: string;
      /** Audience for the GitHub ID token; must match what the Dex connector expects. */
      audience?: string;
      dexUrl?: string;
    };

/** Reads one input by name (the action passes `core.getInput`). */
export type InputReader = (name: string) => string;

/**
 * Parses the shared auth inputs `token`, `oidc`, `dex-connector-id`, `dex-client-id`,
 * `dex-client-secret`, `oidc-audience`, `dex-url`. Throws naming the input and the fix.
 */
export function readArgoCdAuthInputs(input: InputReader): ArgoCdAuth {
  const oidc = parseBooleanInput('oidc', input('oidc'), false);
  const token = input('token');
  if (!oidc) {
    if (!token) {
      throw new Error(
        'token: no Argo CD credentials. Pass an API token (`token: ${{ secrets.ARGOCD_TOKEN }}`) or set `oidc: true` with dex-connector-id.',
      );
    }
    return { kind: 'token', token };
  }
  if (token) throw new Error('token and oidc: true are both set: use one way to authenticate');
  const connectorId = input('dex-connector-id');
  if (!connectorId) {
    throw new Error(
      'dex-connector-id: required with oidc: true (the Dex connector that trusts GitHub Actions tokens)',
    );
  }
  return {
    kind: 'oidc',
    connectorId,
    clientId: input('dex-client-id') || 'argo-cd-cli',
    clientSecret: input('dex-client-secret') || undefined,
    audience: input('oidc-audience') || undefined,
    dexUrl: input('dex-url') || undefined,
  };
}

/**
 * Produces the bearer token for {@link ArgoCdClient}. For OIDC it asks `getIdToken` (the action passes
 * `core.getIDToken`, which needs `permissions: id-token: write`) and exchanges the result at Dex.
 */
export async function resolveArgoCdToken(
  auth: ArgoCdAuth,
  server: string,
  getIdToken: (audience?: string) => Promise<string>,
): Promise<string> {
  if (auth.kind === 'token') return auth.token;
  let idToken: string;
  try {
    idToken = await getIdToken(auth.audience);
  } catch (error) {
    throw new Error(
      `oidc: cannot get the workflow's GitHub OIDC token (${error instanceof Error ? error.message : String(error)}). ` +
        'Give the job `permissions: id-token: write`, or use `token` instead.',
      { cause: error },
    );
  }
  const exchanged = await exchangeIdTokenWithDex({
    server,
    dexUrl: auth.dexUrl,
    idToken,
    connectorId: auth.connectorId,
    clientId: auth.clientId,
    clientSecret: auth.clientSecret,
  });
  return exchanged.token;
}

/** Parses a YAML-1.2-core boolean input the way `core.getBooleanInput` does, with a default for ''. */
export function parseBooleanInput(name: string, raw: string, fallback: boolean): boolean {
  const value = raw.trim();
  if (value === '') return fallback;
  if (['true', 'True', 'TRUE'].includes(value)) return true;
  if (['false', 'False', 'FALSE'].includes(value)) return false;
  throw new Error(`${name}: "${raw}" is not a boolean; use true or false`);
}
