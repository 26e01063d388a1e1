// Starts a test server process (a backend, a receiver) that prints "listening <port>" when ready.
import { fileURLToPath } from 'node:url';
import { startProcess, tempDir, type Managed } from '../../../testkit/src/index.js';
import { eventually } from './phoenix.js';

/** Runs `server/test/support/<file>` with tsx and `env` (plus PATH); resolves once it listens. */
export async function startListening(
  file: string,
  env: Record<string, string>,
): Promise<{ proc: Managed; port: number }> {
  const main = fileURLToPath(new URL(`./${file}`, import.meta.url));
  const name = file.replace(/\.ts$/, '');
  const proc = startProcess(process.execPath, ['--import', 'tsx', main], {
    logDir: tempDir(name),
    name,
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  const port = await eventually(`${name} to listen`, () => {
    const m = /listening (\d+)/.exec(proc.output());
    return m ? Number(m[1]) : 0;
  });
  return { proc, port };
}
