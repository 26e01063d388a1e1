import { eventually } from './phoenix.js';

/** Polls `check` until it finds something (bounded) and resolves with it, typed without `undefined`. */
export function waitFor<T>(what: string, check: () => T | undefined, ms = 20_000): Promise<T> {
  return eventually(what, check, ms) as Promise<T>;
}
