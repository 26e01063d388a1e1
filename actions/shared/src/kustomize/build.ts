/**
 * Builds a kustomization with the kustomize binary when there is one, else `kubectl kustomize`
 * (kustomize v5 is built into kubectl), through @actions/exec with an argument array.
 */
import { getExecOutput } from '@actions/exec';

/** Which program renders: `auto` prefers a `kustomize` binary on PATH over kubectl. */
export type KustomizeTool =
  'auto' | 'kustomize' | 'kubectl' | { path: string; kind: 'kustomize' | 'kubectl' };

async function works(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await getExecOutput(cmd, args, { silent: true, ignoreReturnCode: true })).exitCode === 0;
  } catch {
    return false;
  }
}

/** Resolves `auto` to a command and the arguments that come before the directory. */
export async function resolveKustomize(
  tool: KustomizeTool = 'auto',
): Promise<{ cmd: string; args: string[] }> {
  if (typeof tool === 'object') {
    return tool.kind === 'kustomize'
      ? { cmd: tool.path, args: ['build'] }
      : { cmd: tool.path, args: ['kustomize'] };
  }
  if (tool === 'kustomize' || (tool === 'auto' && (await works('kustomize', ['version'])))) {
    return { cmd: 'kustomize', args: ['build'] };
  }
  return { cmd: 'kubectl', args: ['kustomize'] };
}

/** Renders `dir` and returns the YAML stream; the error carries kustomize's own message. */
export async function kustomizeBuild(dir: string, tool: KustomizeTool = 'auto'): Promise<string> {
  const { cmd, args } = await resolveKustomize(tool);
  let result;
  try {
    result = await getExecOutput(cmd, [...args, dir], { silent: true, ignoreReturnCode: true });
  } catch (error) {
    throw new Error(
      `cannot run ${cmd}: ${(error as Error).message} (install kubectl, which includes kustomize v5)`,
      {
        cause: error,
      },
    );
  }
  if (result.exitCode !== 0) {
    throw new Error(
      `${cmd} ${[...args, dir].join(' ')} failed: ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  return result.stdout;
}
