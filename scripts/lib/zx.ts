// How scripts run other programs: zx's `$` with interpolated arguments (zx quotes each one; an array
// becomes several arguments), never a shell string built by hand. Importing this module sets zx's
// defaults for scripts: quiet (a script prints its own progress lines; a step whose output a person
// should see passes `stdio: 'inherit'` or `.verbose()`), and no command echo.
//
// `run()` only turns zx's failure (a ProcessOutput, whose message names neither the command nor
// the exit code) into a CommandError that names the command, its exit code and the tail of its
// output; zx does the spawning, quoting, timeouts and killing.
import { $, ProcessOutput, type ProcessPromise } from 'zx';

$.quiet = true;
$.verbose = false;

export { $, cd, retry, spinner, within, ProcessOutput, ProcessPromise } from 'zx';

/** How many lines of a failed command's output an error carries. */
const TAIL_LINES = 15;

/** The last `lines` non-empty lines of `text`. */
export function tail(text: string, lines = TAIL_LINES): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** A program exited non-zero, was killed (timeout), or is not installed (exit 127). */
export class CommandError extends Error {
  readonly code: string = 'ERR_COMMAND';
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    const status =
      exitCode === 127
        ? 'exit 127: not installed or not on PATH'
        : exitCode === null
          ? `killed by ${signal ?? 'a signal'}`
          : `exit ${exitCode}`;
    super(`${command} failed (${status}): ${tail(stderr || stdout)}`);
    this.name = 'CommandError';
  }
}

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
