import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StaticAsset {
  body: Buffer;
  contentType: string;
}

const publicDir = fileURLToPath(new URL('../../public/', import.meta.url));

/**
 * The official client's ES module from node_modules. `phoenix/package.json` is not in the
 * package's `exports`, so resolve its CommonJS entry (priv/static/phoenix.cjs.js) and take the
 * sibling phoenix.mjs.
 */
export function phoenixModulePath(): string {
  const entry = createRequire(import.meta.url).resolve('phoenix');
  return join(dirname(entry), 'phoenix.mjs');
}

/** The demo page and the client scripts it loads, read once at start-up: URL path -> asset. */
export function loadStaticAssets(): Map<string, StaticAsset> {
  const html = 'text/html; charset=utf-8';
  const js = 'text/javascript; charset=utf-8';
  const index = readFileSync(join(publicDir, 'index.html'));
  return new Map<string, StaticAsset>([
    ['/', { body: index, contentType: html }],
    ['/index.html', { body: index, contentType: html }],
    ['/demo.js', { body: readFileSync(join(publicDir, 'demo.js')), contentType: js }],
    ['/recovery.js', { body: readFileSync(join(publicDir, 'recovery.js')), contentType: js }],
    ['/vendor/phoenix.mjs', { body: readFileSync(phoenixModulePath()), contentType: js }],
  ]);
}
