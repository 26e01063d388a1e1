import { readFileSync } from 'node:fs';
import { metrics } from './metrics.js';

/** The server package's version (server/package.json, beside src/ and dist/ alike). */
export function serverVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * Sets switchboard_build_info{version,revision} to 1: joined on `pod` (or `instance`), it labels every
 * other series with the build, so each objective can be read per version during a canary.
 */
export function recordBuildInfo(revision: string): { version: string; revision: string } {
  const version = serverVersion();
  metrics.buildInfo.reset();
  metrics.buildInfo.labels(version, revision).set(1);
  return { version, revision };
}
