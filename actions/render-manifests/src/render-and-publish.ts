import {
  canaryRender,
  diffObjects,
  objectFiles,
  type ObjectDiff,
  type RenderedObject,
} from '../../../pipeline/src/kustomize/index.js';
import type { RenderConfig } from './config.js';
import { publishToDeployBranch, type PublishResult } from './deploy-branch.js';
import { renderPinnedOverlay } from './render.js';
import { describeDiff } from './summary.js';
import { validateRendered } from './validate.js';

type Validation = Awaited<ReturnType<typeof validateRendered>>;

/** What the action did: published (or restored), or stopped because validation found problems. */
export type RenderOutcome =
  | { failed: string; validation: Validation; objects: number }
  | { publish: PublishResult; diff: ObjectDiff; validation?: Validation; objects: number };

function commitMessage(
  config: RenderConfig,
  env: NodeJS.ProcessEnv,
  subject: string,
  body: string[],
): string {
  const trailers = [
    config.sourceRevision ? `Source-Commit: ${config.sourceRevision}` : '',
    env.GITHUB_RUN_ID && env.GITHUB_REPOSITORY
      ? `Workflow-Run: ${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
      : '',
  ].filter(Boolean);
  return [subject, '', ...body, ...(trailers.length ? ['', ...trailers] : [])].join('\n');
}

/**
 * The action's work, shared by main.ts and the rehearsal: pin the image in the overlay, render,
 * validate, commit the render to the deploy branch -- or restore an earlier render (rollback).
 */
export async function renderAndPublish(
  config: RenderConfig,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<RenderOutcome> {
  const target = {
    repoDir: config.root,
    gitEnv: config.gitEnv,
    remote: config.remote,
    branch: config.deployBranch,
    path: config.outputPath,
    identity: config.identity,
    push: config.push,
    log,
  };
  if (config.restoreRevision) {
    const sha = config.restoreRevision;
    const publish = await publishToDeployBranch({
      ...target,
      content: { restoreFrom: sha },
      message: () =>
        commitMessage(
          config,
          env,
          `rollback(${config.environment}): restore ${config.outputPath} from ${sha.slice(0, 12)}`,
          [`Brings ${config.outputPath}/ back to what deploy-branch commit ${sha} had.`],
        ),
    });
    return { publish, diff: diffObjects(publish.previous, publish.next), objects: publish.next.length };
  }
  const pin = config.pin!;
  const reference = `${pin.newName ?? pin.name}@${pin.digest}`;
  log(`pinning ${pin.name} to ${reference} in ${config.overlay} and rendering`);
  const rendered = await renderPinnedOverlay(config.root, config.overlay, pin, config.kustomize);
  const files = objectFiles(rendered.objects);
  const objects = rendered.objects.length;
  let validation: Validation | undefined;
  if (config.validate) {
    validation = await validateRendered(files, config.overlay, config.requireDigests);
    if (validation.problems.length > 0) {
      return {
        validation,
        objects,
        failed:
          `validation found ${validation.problems.length} problem(s) in the render of ${config.overlay}; nothing was published:\n` +
          validation.problems.map((p) => `  ${p.object} ${p.field}: ${p.message} [${p.check}]`).join('\n'),
      };
    }
  }
  const publish = await publishToDeployBranch({
    ...target,
    content: config.canary
      ? { fromPrevious: (previous) => besideRunning(config, previous, rendered.objects) }
      : { files },
    message: (previous) =>
      commitMessage(
        config,
        env,
        `${config.canary ? `canary(${config.environment}, ${config.canary.percent} % moved)` : `render(${config.environment})`}: ${pin.newName ?? pin.name}@${pin.digest.slice(0, 19)}`,
        [
          `Rendered ${config.overlay}${config.sourceRevision ? ` at ${config.sourceRevision}` : ''} with ${reference}.`,
          `${describeDiff(diffObjects(previous, rendered.objects))}.`,
        ],
      ),
  });
  return { publish, diff: diffObjects(publish.previous, publish.next), validation, objects };
}

/** Canary mode: the running render plus the canary from `next`, validated as a whole. */
async function besideRunning(
  config: RenderConfig,
  previous: RenderedObject[],
  next: RenderedObject[],
): Promise<Map<string, string>> {
  const files = objectFiles(canaryRender(previous, next, config.canary!));
  if (!config.validate) return files;
  const { problems } = await validateRendered(
    files,
    `${config.overlay} beside the running release`,
    config.requireDigests,
  );
  if (problems.length > 0) {
    throw new Error(
      `validation found ${problems.length} problem(s) in the canary render; nothing was published:\n` +
        problems.map((p) => `  ${p.object} ${p.field}: ${p.message} [${p.check}]`).join('\n'),
    );
  }
  return files;
}

/** The action's outputs (action.yml) for a published outcome. */
export function renderOutputs(
  config: RenderConfig,
  publish: PublishResult,
  diff: ObjectDiff,
): Record<string, string> {
  return {
    commit: publish.commit ?? '',
    'previous-commit': publish.previousCommit ?? '',
    changed: String(publish.changed),
    path: config.outputPath,
    ...(config.pin ? { image: `${config.pin.newName ?? config.pin.name}@${config.pin.digest}` } : {}),
    changes: JSON.stringify({
      added: diff.changes.filter((c) => c.change === 'added').map((c) => c.label),
      changed: diff.changes.filter((c) => c.change === 'changed').map((c) => c.label),
      removed: diff.changes.filter((c) => c.change === 'removed').map((c) => c.label),
      unchanged: diff.unchanged,
    }),
  };
}
