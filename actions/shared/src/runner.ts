/**
 * The pipeline library's Runner (scripts/lib/runner.ts) for actions: programs run through
 * `@actions/exec`, the toolkit's convention on runners, with an argument array and no shell.
 * Scripts pass zx's runner to the same domain code instead.
 */
import { getExecOutput } from '@actions/exec';
import type { RunOptions, RunResult, Runner } from '../../../scripts/lib/runner.js';

export type { RunOptions, RunResult, Runner } from '../../../scripts/lib/runner.js';

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
