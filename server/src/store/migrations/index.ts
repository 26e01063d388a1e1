import { migration as m0001 } from './0001_create_history.js';

/** One schema change. Applied once, in a transaction, in `version` order; never edited after release. */
export interface Migration {
  /** 1, 2, 3, ... with no gap; the file name starts with it (0001_...). */
  version: number;
  name: string;
  sql: string;
}

/** Every migration, in order. Add a new file `NNNN_<name>.ts` and list it here. */
export const migrations: readonly Migration[] = [m0001];
