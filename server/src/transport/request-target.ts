import { HttpError } from './http-util.js';

/** The request target of an HTTP request, split as it arrived (nothing decoded or normalised). */
export interface RequestTarget {
  /** The raw path, routed on as is. */
  path: string;
  /** Query parameters (percent-decoded values). */
  query: URLSearchParams;
}

const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/**
 * Checks the raw request target and returns it unnormalised, or an HttpError 400 naming the
 * problem. WHATWG URL parsing turns `\` into `/` and resolves `..` and `%2e%2e`, which nginx does
 * not do before matching its locations: `/api/\..\..\metrics` is an `/api` request to nginx and
 * would be `/metrics` to us. So targets whose meaning depends on normalisation are refused:
 * absolute-form (`GET http://host/x`), `*`, `#`, backslashes (also `%5c`), empty segments (`//`)
 * and dot segments (also percent-encoded).
 */
export function parseRequestTarget(raw: string | undefined): RequestTarget | HttpError {
  const target = raw ?? '';
  if (!target.startsWith('/')) {
    return new HttpError(400, 'request target must be a path starting with "/" (no absolute-form or "*")');
  }
  // A fragment is never sent (RFC 9112 origin-form has none); URL parsing would drop what follows `#`.
  if (target.includes('#')) return new HttpError(400, 'request target must not contain "#"');
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  if (path.includes('\\') || /%5c/i.test(path)) {
    return new HttpError(400, 'path must not contain backslashes');
  }
  if (path.includes('//')) return new HttpError(400, 'path must not contain empty segments ("//")');
  if (path.split('/').some((segment) => DOT_SEGMENT.test(segment))) {
    return new HttpError(400, 'path must not contain "." or ".." segments');
  }
  return { path, query: new URLSearchParams(q === -1 ? '' : target.slice(q + 1)) };
}
