// Runs the container tools (buildah, podman, skopeo) through the Runner its caller passes (zx in
// scripts, @actions/exec in the build-image action) with an argument array, never a shell string, and a
// timeout; failures carry the command line, the exit code and the tail of the tool's output. It imports
// no process library, so the action's bundle carries no zx (scripts/build-actions.ts refuses one that does).
import { CommandError, runChecked, type Runner } from '../runner.js';

/** A container tool exited non-zero, timed out, or is not installed. */
export class ImageToolError extends CommandError {
  override readonly code = 'ERR_IMAGE_TOOL';
  constructor(err: CommandError) {
    super(err.command, err.exitCode, err.signal, err.stdout, err.stderr);
    this.name = 'ImageToolError';
    if (err.exitCode === 127) this.message += ' (run scripts/setup.sh)';
  }
}

export interface ToolOptions {
  /** Kill the tool after this long (default 5 minutes). */
  timeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Who runs the tool: scripts pass zxRunner, the build-image action actionsExecRunner. */
  runner: Runner;
}

/** Runs `cmd args...`; resolves with its output, rejects with ImageToolError. */
export async function runTool(
  cmd: string,
  args: string[],
  opts: ToolOptions,
): Promise<{ stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await runChecked(opts.runner, cmd, args, {
      cwd: opts.cwd,
      env: opts.env,
      timeoutMs: opts.timeoutMs ?? 300_000,
    });
    return { stdout, stderr };
  } catch (err) {
    throw err instanceof CommandError ? new ImageToolError(err) : err;
  }
}
