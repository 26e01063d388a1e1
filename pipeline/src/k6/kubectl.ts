/**
 * kubectl through @actions/exec (argument arrays, never a shell string). Output is captured silently:
 * applied objects can hold secrets, so nothing kubectl prints is echoed unless asked.
 */
import { getExecOutput } from '@actions/exec';
import { stringify } from 'yaml';

/** kubectl exited non-zero or is not installed. */
export class KubectlError extends Error {
  override readonly name = 'KubectlError';
  readonly code = 'KUBECTL_FAILED';
  constructor(
    readonly args: string[],
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(
      `kubectl ${args.join(' ')} failed (exit ${exitCode}): ${stderr.trim().split('\n').slice(-5).join('\n')}`,
    );
  }
}

/** A kubectl bound to a binary, a namespace and optionally a kubeconfig/context. */
export class Kubectl {
  constructor(
    readonly options: { binary?: string; namespace: string; context?: string; kubeconfig?: string },
  ) {}

  /** Runs kubectl with the namespace (and context) prepended; resolves with stdout. */
  async run(args: string[], input?: string): Promise<string> {
    const full = [
      ...(this.options.kubeconfig ? ['--kubeconfig', this.options.kubeconfig] : []),
      ...(this.options.context ? ['--context', this.options.context] : []),
      '--namespace',
      this.options.namespace,
      ...args,
    ];
    let result;
    try {
      result = await getExecOutput(this.options.binary ?? 'kubectl', full, {
        silent: true,
        ignoreReturnCode: true,
        input: input === undefined ? undefined : Buffer.from(input),
      });
    } catch (error) {
      throw new Error(
        `cannot run ${this.options.binary ?? 'kubectl'}: ${(error as Error).message}. Install kubectl and configure access to the cluster (e.g. azure/setup-kubectl plus a kubeconfig), or set the kubectl input`,
        { cause: error },
      );
    }
    if (result.exitCode !== 0) throw new KubectlError(args, result.exitCode, result.stderr || result.stdout);
    return result.stdout;
  }

  /** `kubectl apply -f -` with the objects as one YAML stream (stdin, so secrets never touch the disk). */
  async apply(objects: unknown[]): Promise<string> {
    const stream = objects.map((o) => `---\n${stringify(o)}`).join('');
    return this.run(['apply', '-f', '-'], stream);
  }

  /** `kubectl get <kind> <name> -o json`, parsed. */
  async getJson<T>(kind: string, name?: string, selector?: string): Promise<T> {
    const args = ['get', kind, ...(name ? [name] : []), ...(selector ? ['-l', selector] : []), '-o', 'json'];
    return JSON.parse(await this.run(args)) as T;
  }

  /** Deletes objects (`kind/name` each), ignoring the ones already gone; `wait` blocks until they are. */
  async delete(resources: string[], wait = false): Promise<void> {
    if (resources.length > 0) {
      await this.run(['delete', ...resources, '--ignore-not-found', `--wait=${wait}`]);
    }
  }

  /** A pod's full log (all containers' primary one). */
  async logs(pod: string): Promise<string> {
    return this.run(['logs', pod, '--tail=-1']);
  }
}
