import { isAbsolute, resolve } from 'node:path';
import { parseBooleanInput } from '../../../pipeline/src/argocd/index.js';
import { GITHUB_ACTIONS_BOT, tokenAuthEnv, type GitIdentity } from '../../../pipeline/src/git/index.js';
import {
  checkCanaryMove,
  DIGEST_PATTERN,
  type CanaryMove,
  type KustomizeTool,
} from '../../../pipeline/src/kustomize/index.js';

/** Reads one input by name (the action passes `core.getInput`). */
export type InputReader = (name: string) => string;

/** The validated inputs of render-manifests (see action.yml). */
export interface RenderConfig {
  environment: string;
  /** Repository checkout (the working directory): overlays are read and the deploy branch pushed from here. */
  root: string;
  /** Overlay directory relative to root, e.g. overlays/staging. */
  overlay: string;
  /** Set in render mode; absent when restoring. */
  pin?: { name: string; newName?: string; digest: string };
  /** Canary mode: the render is what runs plus the new release beside it (pipeline/src/kustomize/canary.ts). */
  canary?: CanaryMove;
  /** Restore mode: the deploy-branch commit whose rendered/<env> to bring back. */
  restoreRevision?: string;
  deployBranch: string;
  remote: string;
  /** Directory on the deploy branch, e.g. rendered/staging. */
  outputPath: string;
  push: boolean;
  validate: boolean;
  requireDigests: boolean;
  kustomize: KustomizeTool;
  identity: GitIdentity;
  sourceRevision: string;
  /** git environment carrying the `token` input for fetch and push; empty: the checkout's own credentials. */
  gitEnv: Record<string, string>;
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Reads and checks every input; an error names the input and the fix. */
export function readRenderConfig(input: InputReader, env: Record<string, string | undefined>): RenderConfig {
  const environment = input('environment').trim();
  if (!NAME.test(environment)) {
    throw new Error(
      `environment is required: the overlay's environment name, e.g. staging (got "${environment}")`,
    );
  }
  const workdir = input('working-directory').trim();
  const root = resolve(env.GITHUB_WORKSPACE ?? process.cwd(), workdir || '.');
  const canary = readCanary(input);
  const overlay = input('overlay').trim() || `overlays/${environment}${canary ? '-canary' : ''}`;
  const outputPath = (input('output-path').trim() || `rendered/${environment}`).replace(/\/+$/, '');
  if (
    isAbsolute(outputPath) ||
    outputPath.split('/').includes('..') ||
    outputPath === '' ||
    outputPath === '.'
  ) {
    throw new Error(
      `output-path: "${outputPath}" must be a directory inside the deploy branch, e.g. rendered/${environment}`,
    );
  }
  const restoreRevision = input('restore-revision').trim() || undefined;
  if (restoreRevision && !/^[0-9a-f]{7,40}$/i.test(restoreRevision)) {
    throw new Error(
      `restore-revision: "${restoreRevision}" is not a commit SHA (use render-manifests' previous-commit output)`,
    );
  }
  const image = input('image').trim();
  const digest = input('digest').trim();
  let pin: RenderConfig['pin'];
  if (restoreRevision && canary) {
    throw new Error(
      'canary-percent and restore-revision are both set: a restore brings back a render as it was',
    );
  }
  if (restoreRevision) {
    if (digest)
      throw new Error(
        'digest and restore-revision are both set: a restore brings back an earlier render as it was',
      );
  } else {
    if (!image)
      throw new Error('image is required: the image name the overlay uses, e.g. ghcr.io/switchboard/server');
    if (/@|:[^/]*$/.test(image.split('/').at(-1) ?? '')) {
      throw new Error(
        `image: "${image}" must be a name without tag or digest; the digest comes from the digest input`,
      );
    }
    if (!DIGEST_PATTERN.test(digest)) {
      throw new Error(`digest: "${digest}" is not sha256:<64 hex digits>; pass build-image's digest output`);
    }
    const newName = input('new-name').trim() || undefined;
    pin = { name: image, newName, digest };
  }
  const deployBranch = input('deploy-branch').trim() || 'deploy';
  if (!/^[A-Za-z0-9._/-]+$/.test(deployBranch) || deployBranch.startsWith('-')) {
    throw new Error(`deploy-branch: "${deployBranch}" is not a branch name`);
  }
  const token = input('token').trim();
  const kustomizeInput = input('kustomize').trim() || 'auto';
  let kustomize: KustomizeTool;
  if (kustomizeInput === 'auto' || kustomizeInput === 'kustomize' || kustomizeInput === 'kubectl')
    kustomize = kustomizeInput;
  else
    kustomize = {
      path: kustomizeInput,
      kind: /kubectl[^/]*$/.test(kustomizeInput) ? 'kubectl' : 'kustomize',
    };
  return {
    environment,
    root,
    overlay,
    pin,
    ...(canary ? { canary } : {}),
    restoreRevision,
    deployBranch,
    remote: input('remote').trim() || 'origin',
    outputPath,
    push: parseBooleanInput('push', input('push'), true),
    validate: parseBooleanInput('validate', input('validate'), true),
    requireDigests: parseBooleanInput('require-digests', input('require-digests'), true),
    kustomize,
    identity: {
      name: input('git-user-name').trim() || GITHUB_ACTIONS_BOT.name,
      email: input('git-user-email').trim() || GITHUB_ACTIONS_BOT.email,
    },
    sourceRevision: input('source-revision').trim() || env.GITHUB_SHA || '',
    gitEnv: token ? tokenAuthEnv(token, env.GITHUB_SERVER_URL || 'https://github.com') : {},
  };
}

/** canary-percent (empty or 0: no canary) and canary-window-ms, checked. */
function readCanary(input: InputReader): CanaryMove | undefined {
  const percent = input('canary-percent').trim();
  if (percent === '' || percent === '0') return undefined;
  const window = input('canary-window-ms').trim() || '30000';
  const whole = (name: string, raw: string): number => {
    if (!/^\d+$/.test(raw)) throw new Error(`${name}: "${raw.slice(0, 40)}" is not a whole number`);
    return Number(raw);
  };
  return checkCanaryMove({
    percent: whole('canary-percent', percent),
    windowMs: whole('canary-window-ms', window),
  });
}
