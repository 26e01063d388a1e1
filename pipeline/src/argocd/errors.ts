import type { RuntimeError } from './types.js';

/**
 * Stable codes for everything that can go wrong talking to Argo CD. Callers branch on `code`,
 * never on message text; the message is for people and names the fix where there is one.
 */
export type ArgoCdErrorCode =
  /** The server could not be reached (DNS, TLS, refused, request timeout). */
  | 'ARGOCD_UNREACHABLE'
  /** 401: token missing, malformed or expired. */
  | 'ARGOCD_UNAUTHENTICATED'
  /** 403: the token's role lacks the permission (Argo CD also answers this for apps that do not exist). */
  | 'ARGOCD_PERMISSION_DENIED'
  /** 404. */
  | 'ARGOCD_NOT_FOUND'
  /** Argo CD refused because another sync/rollback is still running on the app. */
  | 'ARGOCD_OPERATION_IN_PROGRESS'
  /** Argo CD refused a sync/rollback to a pinned revision because automated sync is on. */
  | 'ARGOCD_AUTO_SYNC_CONFLICT'
  /** Other 400s (FailedPrecondition / InvalidArgument): the message from Argo CD says why. */
  | 'ARGOCD_INVALID_REQUEST'
  /** Other 409s, e.g. creating an app whose spec differs without upsert. */
  | 'ARGOCD_CONFLICT'
  /** 5xx. */
  | 'ARGOCD_SERVER_ERROR'
  /** A 2xx whose body is not the JSON we expect (often a proxy or the UI answering instead of the API). */
  | 'ARGOCD_BAD_RESPONSE'
  /** The Dex token exchange for GitHub OIDC failed. */
  | 'DEX_EXCHANGE_FAILED';

/** An Argo CD API failure with a stable code, the HTTP status and Argo CD's own error text. */
export class ArgoCdError extends Error {
  override readonly name = 'ArgoCdError';
  constructor(
    readonly code: ArgoCdErrorCode,
    message: string,
    readonly details: {
      status?: number;
      /** gRPC status code from the `runtimeError` body (9 = FailedPrecondition, 7 = PermissionDenied, ...). */
      grpcCode?: number;
      /** Argo CD's own message, unmodified. */
      serverMessage?: string;
      method?: string;
      path?: string;
    } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Argo CD's wording, from server/application/application.go (SetAppOperation and Sync). */
const OPERATION_IN_PROGRESS = /another operation is already in progress/i;
const AUTO_SYNC_CONFLICT = /auto-sync currently set to|auto-sync is enabled/i;

const GRPC_NAMES: Record<number, string> = {
  2: 'Unknown',
  3: 'InvalidArgument',
  5: 'NotFound',
  6: 'AlreadyExists',
  7: 'PermissionDenied',
  9: 'FailedPrecondition',
  13: 'Internal',
  14: 'Unavailable',
  16: 'Unauthenticated',
};

/** Builds the error for a non-2xx answer from its status and (possibly non-JSON) body. */
export function errorFromResponse(method: string, path: string, status: number, body: unknown): ArgoCdError {
  const runtime: RuntimeError = typeof body === 'object' && body !== null ? (body as RuntimeError) : {};
  const serverMessage =
    runtime.message || runtime.error || (typeof body === 'string' ? body.slice(0, 300) : '') || '';
  const grpcCode = typeof runtime.code === 'number' ? runtime.code : undefined;
  const grpcName = grpcCode === undefined ? '' : `, ${GRPC_NAMES[grpcCode] ?? `gRPC code ${grpcCode}`}`;
  const what = `Argo CD ${method} ${path} answered ${status}${grpcName}: ${serverMessage || '(no message)'}`;
  const details = { status, grpcCode, serverMessage, method, path };

  if (OPERATION_IN_PROGRESS.test(serverMessage) && (status === 400 || status === 409)) {
    return new ArgoCdError('ARGOCD_OPERATION_IN_PROGRESS', what, details);
  }
  if (AUTO_SYNC_CONFLICT.test(serverMessage) && status === 400) {
    return new ArgoCdError('ARGOCD_AUTO_SYNC_CONFLICT', what, details);
  }
  if (status === 401) {
    return new ArgoCdError(
      'ARGOCD_UNAUTHENTICATED',
      `${what}. The token was rejected: check that it is an Argo CD API token (or that the OIDC exchange produced one) and has not expired.`,
      details,
    );
  }
  if (status === 403) {
    return new ArgoCdError(
      'ARGOCD_PERMISSION_DENIED',
      `${what}. Either the token's role lacks this permission, or the application does not exist (Argo CD answers "permission denied" for missing applications).`,
      details,
    );
  }
  if (status === 404) return new ArgoCdError('ARGOCD_NOT_FOUND', what, details);
  if (status === 409) return new ArgoCdError('ARGOCD_CONFLICT', what, details);
  if (status >= 500) return new ArgoCdError('ARGOCD_SERVER_ERROR', what, details);
  return new ArgoCdError('ARGOCD_INVALID_REQUEST', what, details);
}

/** True when `error` is an {@link ArgoCdError} with one of `codes`. */
export function isArgoCdError(error: unknown, ...codes: ArgoCdErrorCode[]): error is ArgoCdError {
  return error instanceof ArgoCdError && (codes.length === 0 || codes.includes(error.code));
}
