// Runs the container tools (buildah, podman, skopeo) with an argument array, never a shell string,
// and a timeout; failures carry the command line and the tool's own stderr.
import { execFile } from 'node:child_process';

/** A container tool exited non-zero, timed out, or is not installed. */
export class ImageToolError extends Error {
  readonly code = 'ERR_IMAGE_TOOL';
  constructor(
    readonly command: string,
    readonly exitCode: number | string | null,
    readonly stderr: string,
    hint = '',
  ) {
    super(
      `${command} failed (${exitCode ?? 'killed'}): ${stderr.trim().split('\n').slice(-15).join('\n')}${hint}`,
    );
    this.name = 'ImageToolError';
  }
}

export interface ToolOptions {
  /** Kill the tool after this long (default 5 minutes). */
  timeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs `cmd args...`; resolves with its output, rejects with ImageToolError. */
export function runTool(
  cmd: string,
  args: string[],
  opts: ToolOptions = {},
): Promise<{ stdout: string; stderr: string }> {
  const timeout = opts.timeoutMs ?? 300_000;
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        cwd: opts.cwd,
        env: opts.env ?? process.env,
        timeout,
        killSignal: 'SIGKILL',
        maxBuffer: 256 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const e = err as NodeJS.ErrnoException & { code?: number | string; killed?: boolean };
        const line = [cmd, ...args].join(' ');
        if (e.code === 'ENOENT') {
          reject(new ImageToolError(line, 'ENOENT', `${cmd} is not installed`, ' (run scripts/setup.sh)'));
        } else if (e.killed) {
          reject(new ImageToolError(line, `timed out after ${timeout} ms`, stderr || stdout));
        } else {
          reject(new ImageToolError(line, e.code ?? null, stderr || stdout || e.message));
        }
      },
    );
  });
}
