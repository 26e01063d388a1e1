/**
 * Builds a kustomization with the kustomize binary when there is one, else `kubectl kustomize`
 * (kustomize v5 is built into kubectl), through the Runner its caller passes, with an argument array:
 * actionsExecRunner (@actions/exec) in the actions, zxRunner when a script calls it. No default, so a
 * script's import does not bring @actions/exec along, nor an action's zx.
 */
import type { Runner } from '../runner.js';

/** Which program renders: `auto` prefers a `kustomize` binary on PATH over kubectl. */
export type KustomizeTool =
  'auto' | 'kustomize' | 'kubectl' | { path: string; kind: 'kustomize' | 'kubectl' };

async function works(runner: Runner, cmd: string, args: string[]): Promise<boolean> {
  return (await runner.run(cmd, args)).exitCode === 0;
}

/** Resolves `auto` to a command and the arguments that come before the directory. */
export async function resolveKustomize(
  tool: KustomizeTool,
  runner: Runner,
): Promise<{ cmd: string; args: string[] }> {
  if (typeof tool === 'object') {
    return tool.kind === 'kustomize'
      ? { cmd: tool.path, args: ['build'] }
      : { cmd: tool.path, args: ['kustomize'] };
  }
  if (tool === 'kustomize' || (tool === 'auto' && (await works(runner, 'kustomize', ['version'])))) {
    return { cmd: 'kustomize', args: ['build'] };
  }
  return { cmd: 'kubectl', args: ['kustomize'] };
}

/** Renders `dir` and returns the YAML stream; the error carries kustomize's own message. */
export async function kustomizeBuild(dir: string, tool: KustomizeTool, runner: Runner): Promise<string> {
  const { cmd, args } = await resolveKustomize(tool, runner);
  const result = await runner.run(cmd, [...args, dir]);
  if (result.exitCode === 127) {
    throw new Error(
      `cannot run ${cmd}: ${result.stderr.trim()} (install kubectl, which includes kustomize v5)`,
    );
  }
  if (result.exitCode !== 0) {
    throw new Error(
      `${cmd} ${[...args, dir].join(' ')} failed: ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  return result.stdout;
}
