// Where platform/ is: three levels up from this module (pipeline/src/platform/) and, once bundled, from
// actions/<name>/dist/index.js too. A workflow that `uses:` an action gets the whole repository, so a
// bundled action reads the same pinned extracts as `npm run validate`.
import { fileURLToPath } from 'node:url';

/** The checkout's root directory (with a trailing slash). */
export const platformRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** A file under platform/, e.g. `served-apis.json` or `schemas/<group>_<Kind>_<version>.json`. */
export function platformFile(name: string): URL {
  return new URL(`../../../platform/${name}`, import.meta.url);
}
