import bcrypt from 'bcryptjs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitForListener } from './ports.js';
import { startProcess, tempDir, type Managed } from './process.js';

export interface RegistryServer {
  /** `127.0.0.1:PORT`: prefix image names with it, e.g. `${host}/switchboard/server:test`. */
  host: string;
  port: number;
  /** http://127.0.0.1:PORT (the Registry HTTP API V2 answers under /v2/). */
  url: string;
  proc: Managed;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  /** Require HTTP basic auth (htpasswd, bcrypt) for this user; default: no auth. */
  auth?: { username: string; password: string };
}

/**
 * An htpasswd line with a bcrypt hash, the only scheme docker-registry accepts (its htpasswd reader
 * calls golang.org/x/crypto/bcrypt, which takes bcryptjs's `$2b$` hashes).
 */
function htpasswdLine(username: string, password: string): string {
  return `${username}:${bcrypt.hashSync(password, 10)}\n`;
}

/**
 * Starts a real OCI registry (Debian's `docker-registry`, distribution 2.8) on a loopback port it
 * picks itself (port 0, read back from the process's own listening socket) with its storage in a temp dir; plain HTTP, deletes enabled, no auth unless `opts.auth`. Push to
 * it with `--tls-verify=false` (buildah, podman, skopeo).
 */
export async function startRegistry(opts: RegistryOptions = {}): Promise<RegistryServer> {
  const dir = tempDir('registry');
  const config = join(dir, 'config.yml');
  const auth: string[] = [];
  if (opts.auth) {
    writeFileSync(join(dir, 'htpasswd'), htpasswdLine(opts.auth.username, opts.auth.password));
    auth.push('auth:', '  htpasswd:', '    realm: test', `    path: ${join(dir, 'htpasswd')}`);
  }
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      ...auth,
      'http:',
      '  addr: 127.0.0.1:0',
      '',
    ].join('\n'),
  );
  const proc = startProcess('docker-registry', ['serve', config], { logDir: dir, name: 'registry' });
  const listening = await waitForListener(proc, { what: 'docker-registry', timeoutMs: 20_000 }).catch(
    async (err: Error) => {
      await proc.stop('SIGKILL');
      throw err;
    },
  );
  const port = listening[0]!;
  return {
    host: `127.0.0.1:${port}`,
    port,
    url: `http://127.0.0.1:${port}`,
    proc,
    stop: async () => {
      await proc.stop('SIGTERM', 5_000);
    },
  };
}
