import {
  parseBooleanInput,
  readArgoCdAuthInputs,
  type ArgoCdAuth,
  type InputReader,
} from '../../../pipeline/src/argocd/index.js';

/** Everything the action needs, validated. */
export interface SyncConfig {
  server: string;
  auth: ArgoCdAuth;
  application: string;
  appNamespace?: string;
  revision: string;
  timeoutMs: number;
  pollIntervalMs: number;
  prune: boolean;
  rollbackOnFailure: boolean;
}

/**
 * Reads and validates the action's inputs (see action.yml). Throws one error naming the input and the fix,
 * before anything talks to Argo CD.
 */
export function readSyncConfig(input: InputReader): SyncConfig {
  const required = (name: string, hint: string) => {
    const value = input(name).trim();
    if (!value) throw new Error(`${name} is required: ${hint}`);
    return value;
  };
  const server = required('server', 'the argocd-server URL, e.g. https://argocd.example.com');
  const application = required('application', 'the Argo CD Application name');
  const revision = required('revision', 'the Git commit SHA to deploy, e.g. ${{ github.sha }}');
  return {
    server,
    auth: readArgoCdAuthInputs(input),
    application,
    appNamespace: input('app-namespace').trim() || undefined,
    revision,
    timeoutMs: seconds(input, 'timeout-seconds', 300) * 1000,
    pollIntervalMs: seconds(input, 'poll-interval-seconds', 5) * 1000,
    prune: parseBooleanInput('prune', input('prune'), false),
    rollbackOnFailure: parseBooleanInput('rollback-on-failure', input('rollback-on-failure'), false),
  };
}

function seconds(input: InputReader, name: string, fallback: number): number {
  const raw = input(name).trim();
  if (raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name}: "${raw}" is not a positive number of seconds`);
  return value;
}
