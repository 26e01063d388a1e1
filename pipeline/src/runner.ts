// The one seam through which the pipeline library runs other programs (buildah, podman, ldd,
// kubectl...). Its two callers run programs differently: scripts through zx (`zxRunner`,
// scripts/lib/zx.ts), actions through `@actions/exec`, the toolkit's convention on runners
// (`actionsExecRunner`, below). Domain code takes a `Runner` and never picks one; nothing in the
// library imports zx, so an action's bundle need not carry zx for the code it shares with scripts.
import { getExecOutput } from '@actions/exec';

/** How one program is run. */
export interface RunOptions {
  /** Working directory (default: this process's). */
  cwd?: string;
  /** The whole environment of the program (default: this process's); not merged. */
  env?: NodeJS.ProcessEnv;
  /**
   * Kill the program (SIGKILL) after this long. zx honours it; `@actions/exec` has no timeout, so
   * on a runner the step's `timeout-minutes` bounds the program instead.
   */
  timeoutMs?: number;
  /** Written to the program's stdin, which is then closed. */
  input?: string;
}

/** What a program did. A failure is a result too: `run` resolves whatever the exit code. */
export interface RunResult {
  /** The exit code; 127 when the program is not installed; null when a signal ended it. */
  exitCode: number | null;
  /** The signal that ended it (a timeout's SIGKILL), else null. */
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs `cmd` with `args`, each passed as one argument (never through a shell string). */
export interface Runner {
  /** Which library runs the programs, for messages and test names: `zx`, `@actions/exec`. */
  readonly name: string;
  run(cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

/** How many lines of a failed command's output an error carries. */
const TAIL_LINES = 15;

/** The last `lines` lines of `text`, without trailing blank ones. */
export function tail(text: string, lines = TAIL_LINES): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** One argument as a POSIX shell would need it written, for messages only (nothing runs it). */
function shellWord(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** `cmd args...` as a person would type it into a shell. */
export function commandText(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map(shellWord).join(' ');
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

/** Runs `cmd args...` with `runner`; resolves when it exits 0, else rejects with a CommandError. */
export async function runChecked(
  runner: Runner,
  cmd: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  const result = await runner.run(cmd, args, opts);
  if (result.exitCode === 0) return result;
  throw new CommandError(
    commandText(cmd, args),
    result.exitCode,
    result.signal,
    result.stdout,
    result.stderr,
  );
}

/**
 * `@actions/exec`'s getExecOutput, silent (a step prints its own lines) and resolving whatever the
 * exit code. It throws before spawning when the program is not on PATH; that becomes exit 127, as
 * a shell reports it. It has no timeout: the step's `timeout-minutes` bounds the program.
 */
export const actionsExecRunner: Runner = {
  name: '@actions/exec',
  async run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    try {
      const out = await getExecOutput(cmd, [...args], {
        cwd: opts.cwd,
        env: opts.env as Record<string, string> | undefined,
        input: opts.input === undefined ? undefined : Buffer.from(opts.input),
        silent: true,
        ignoreReturnCode: true,
      });
      return { exitCode: out.exitCode, signal: null, stdout: out.stdout, stderr: out.stderr };
    } catch (error) {
      return { exitCode: 127, signal: null, stdout: '', stderr: (error as Error).message };
    }
  },
};
