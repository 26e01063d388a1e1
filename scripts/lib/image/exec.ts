// Runs the container tools (buildah, podman, skopeo) through zx with an argument array, never a
// shell string, and a timeout; failures carry the command line, the exit code and the tool's stderr.
import { $, CommandError, run } from '../zx.js';

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
}

/** Runs `cmd args...`; resolves with its output, rejects with ImageToolError. */
export async function runTool(
  cmd: string,
  args: string[],
  opts: ToolOptions = {},
): Promise<{ stdout: string; stderr: string }> {
  const tool = $({
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    timeout: opts.timeoutMs ?? 300_000,
    timeoutSignal: 'SIGKILL',
  });
  try {
    const { stdout, stderr } = await run(tool`${cmd} ${args}`);
    return { stdout, stderr };
  } catch (err) {
    throw err instanceof CommandError ? new ImageToolError(err) : err;
  }
}
