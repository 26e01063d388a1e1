// How scripts run other programs: zx's `$` with interpolated arguments (zx quotes each one; an array
// becomes several arguments), never a shell string built by hand. Importing this module sets zx's
// defaults for scripts: quiet (a script prints its own progress lines; a step whose output a person
// should see passes `stdio: 'inherit'` or `.verbose()`), and no command echo.
//
// `run()` only turns zx's failure (a ProcessOutput, whose message names neither the command nor
// the exit code) into a CommandError that names the command, its exit code and the tail of its
// output; zx does the spawning, quoting, timeouts and killing.
import { $, ProcessOutput, type ProcessPromise } from 'zx';
import { CommandError, type RunOptions, type RunResult, type Runner } from '../../pipeline/src/runner.js';

$.quiet = true;
$.verbose = false;

/**
 * zx runs each command through bash with its stdin a socket (node's pipes are socket pairs). Debian's
 * bash takes that for a remote shell and reads ~/.bashrc when SHLVL is unset, as it is in every
 * environment given as an object: a user's .bashrc then runs (pyenv's init waits up to a minute on
 * its lock). With SHLVL set, bash counts itself nested and reads nothing.
 */
type SpawnOptions = { env?: NodeJS.ProcessEnv };
function nested<T extends SpawnOptions | undefined>(opts: T): T {
  const env = opts?.env ?? process.env;
  return (env.SHLVL ? opts : { ...opts, env: { ...env, SHLVL: '1' } }) as T;
}
// zx's own spawners wrapped, so scripts keep to zx and never import node:child_process themselves.
const zxSpawn = $.spawn;
const zxSpawnSync = $.spawnSync;
$.spawn = ((cmd: string, args: readonly string[], opts?: SpawnOptions) =>
  zxSpawn(cmd, args, nested(opts ?? {}) as never)) as typeof zxSpawn;
$.spawnSync = ((cmd: string, args: readonly string[], opts?: SpawnOptions) =>
  zxSpawnSync(cmd, args, nested(opts ?? {}) as never)) as typeof zxSpawnSync;

export { $, cd, retry, spinner, within, ProcessOutput, ProcessPromise } from 'zx';
export { CommandError, tail } from '../../pipeline/src/runner.js';

/** The command line of a zx process as a person would type it. */
export function commandLine(p: ProcessPromise): string {
  return p.cmd.replace(/^\$'(.*)'$/, '$1');
}

/**
 * Awaits `p`; resolves with its output, rejects with a CommandError when it fails. A process made
 * with `nothrow` resolves whatever its exit code.
 */
export async function run(p: ProcessPromise): Promise<ProcessOutput> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof ProcessOutput)
      throw new CommandError(commandLine(p), err.exitCode, err.signal, err.stdout, err.stderr);
    throw err;
  }
}

/** The pipeline library's Runner for scripts: zx, with the options mapped one to one. */
export const zxRunner: Runner = {
  name: 'zx',
  async run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const out = await $({
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      timeout: opts.timeoutMs,
      timeoutSignal: 'SIGKILL',
      input: opts.input,
      nothrow: true,
    })`${cmd} ${[...args]}`;
    return { exitCode: out.exitCode, signal: out.signal, stdout: out.stdout, stderr: out.stderr };
  },
};
