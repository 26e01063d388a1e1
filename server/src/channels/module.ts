import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ConnectHandler } from './connect.js';
import type { Route } from './router.js';

/** What a channels module provides: its routes, and optionally who may connect. */
export interface ChannelsModule {
  routes: Route[];
  connect?: ConnectHandler;
}

/**
 * Loads CHANNELS_MODULE: a module exporting `routes` (an array of `{ pattern, handler }`, or a
 * function returning one, possibly async) and optionally `connect` (a function). A relative path is
 * taken from the working directory. Throws with the reason when the module does not fit.
 */
export async function loadChannelsModule(spec: string): Promise<ChannelsModule> {
  const url = spec.startsWith('file:') ? spec : pathToFileURL(isAbsolute(spec) ? spec : resolve(spec)).href;
  type Exports = { routes?: unknown; connect?: unknown };
  const mod = (await import(url)) as Exports & { default?: Exports };
  let routes = mod.routes ?? mod.default?.routes;
  if (typeof routes === 'function') routes = await (routes as () => unknown)();
  if (!Array.isArray(routes)) throw new Error(`CHANNELS_MODULE ${spec} does not export routes (an array)`);
  const connect = mod.connect ?? mod.default?.connect;
  if (connect !== undefined && typeof connect !== 'function') {
    throw new Error(`CHANNELS_MODULE ${spec}: connect must be a function`);
  }
  return { routes: checkRoutes(routes, `CHANNELS_MODULE ${spec}`), connect: connect as ConnectHandler };
}

/** Checks routes given by a module or by an embedding program; throws naming the first bad one. */
export function checkRoutes(routes: readonly unknown[], where: string): Route[] {
  routes.forEach((r: unknown, i) => {
    const route = r as Partial<Route> | null;
    const pattern = route?.pattern;
    const handler = route?.handler;
    const ok =
      (typeof pattern === 'string' || typeof pattern === 'function') &&
      typeof handler?.join === 'function' &&
      typeof handler.handleIn === 'function' &&
      (handler.handleOut === undefined || typeof handler.handleOut === 'function') &&
      (handler.terminate === undefined || typeof handler.terminate === 'function') &&
      (handler.intercept === undefined ||
        (Array.isArray(handler.intercept) && handler.intercept.every((e) => typeof e === 'string')));
    if (!ok) {
      throw new Error(
        `${where}: routes[${i}] needs a pattern and a handler with join and handleIn ` +
          '(handleOut and terminate functions, intercept an array of event names, when given)',
      );
    }
  });
  return routes as Route[];
}
