// The JavaScript modules a k6 release offers, read from its own module registry (the Go map in
// internal/js/jsmodules.go, js/jsmodules.go before v1), and the check that a k6 bundle imports only
// those.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What `import … from 'k6/…'` resolves to in one k6 release. */
export interface K6Modules {
  /** Importable, including deprecated ones. */
  available: string[];
  /** Importable, but k6 logs a deprecation warning. */
  deprecated: string[];
  /** Listed only to throw "has been removed/graduated" when imported. */
  removed: string[];
}

/**
 * Parses the registry: every `"k6…": <constructor>` entry. An entry built with `newRemovedModule(`
 * throws on import; one built with `newWarnExperimentalModule(` works with a warning.
 */
export function parseK6Modules(goSource: string): K6Modules {
  const available: string[] = [];
  const deprecated: string[] = [];
  const removed: string[] = [];
  const entry = /"(k6(?:\/[\w./-]+)?)"\s*:\s*([&\w.]+)\s*[({]/g;
  for (const m of goSource.matchAll(entry)) {
    const [, name = '', ctor = ''] = m;
    if (ctor === 'newRemovedModule') {
      removed.push(name);
      continue;
    }
    available.push(name);
    if (ctor === 'newWarnExperimentalModule') deprecated.push(name);
  }
  if (!available.includes('k6')) throw new Error('no "k6" entry: this is not k6\'s module registry');
  const sort = (xs: string[]) => [...new Set(xs)].sort();
  return { available: sort(available), deprecated: sort(deprecated), removed: sort(removed) };
}

/** Module specifiers a bundle imports (static `import … from`, bare `import '…'`, `require('…')`). */
export function bundleImports(source: string): string[] {
  const found = new Set<string>();
  const patterns = [
    /^\s*import\s+(?:[\w*{}\s,$]+\s+from\s+)?["']([^"']+)["']/gm,
    /^\s*export\s+[\w*{}\s,$]+\s+from\s+["']([^"']+)["']/gm,
    /\brequire\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) if (m[1]) found.add(m[1]);
  return [...found].sort();
}

/** One import a pinned k6 cannot satisfy. */
export interface ImportProblem {
  bundle: string;
  specifier: string;
  message: string;
}

/**
 * Imports of `bundle` that `modules` (of k6 `version`) does not offer. A bundle is self-contained:
 * anything that is not a k6 module must have been inlined by the bundler.
 */
export function checkBundleImports(
  bundle: string,
  source: string,
  modules: K6Modules,
  version: string,
): ImportProblem[] {
  const out: ImportProblem[] = [];
  for (const specifier of bundleImports(source)) {
    if (specifier !== 'k6' && !specifier.startsWith('k6/')) {
      out.push({ bundle, specifier, message: `not a k6 module: the bundler must inline ${specifier}` });
    } else if (modules.removed.includes(specifier)) {
      out.push({ bundle, specifier, message: `k6 ${version} removed ${specifier} (importing it throws)` });
    } else if (!modules.available.includes(specifier)) {
      out.push({ bundle, specifier, message: `k6 ${version} has no module ${specifier}` });
    } else if (modules.deprecated.includes(specifier)) {
      out.push({ bundle, specifier, message: `k6 ${version} deprecates ${specifier}: use its successor` });
    }
  }
  return out;
}

/** The committed extract, platform/k6-modules.json. */
export interface K6ModulesFile extends K6Modules {
  source: { repository: string; tag: string; commit: string; path: string };
}

/** Reads platform/k6-modules.json under `root`. */
export function loadK6Modules(root: string): K6ModulesFile {
  return JSON.parse(readFileSync(join(root, 'platform/k6-modules.json'), 'utf8')) as K6ModulesFile;
}
