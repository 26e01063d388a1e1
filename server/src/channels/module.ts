import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Route } from './router.js';

/**
 * Loads the channel routes of CHANNELS_MODULE: a module exporting `routes` (an array of
 * `{ pattern, handler }`, or a function returning one, possibly async). A relative path is taken
 * from the working directory. Throws with the reason when the module does not fit.
 */
export async function loadChannelRoutes(spec: string): Promise<Route[]> {
  const url = spec.startsWith('file:') ? spec : pathToFileURL(isAbsolute(spec) ? spec : resolve(spec)).href;
  const mod = (await import(url)) as { routes?: unknown; default?: { routes?: unknown } };
  let routes = mod.routes ?? mod.default?.routes;
  if (typeof routes === 'function') routes = await (routes as () => unknown)();
  if (!Array.isArray(routes)) throw new Error(`CHANNELS_MODULE ${spec} does not export routes (an array)`);
  routes.forEach((r: unknown, i) => checkRoute(r, i, spec));
  return routes as Route[];
}

function checkRoute(r: unknown, i: number, spec: string): void {
  const route = r as Partial<Route> | null;
  const pattern = route?.pattern;
  const handler = route?.handler;
  const ok =
    (typeof pattern === 'string' || typeof pattern === 'function') &&
    typeof handler?.join === 'function' &&
    typeof handler.handleIn === 'function';
  if (!ok) {
    throw new Error(
      `CHANNELS_MODULE ${spec}: routes[${i}] needs a pattern and a handler with join and handleIn`,
    );
  }
}
