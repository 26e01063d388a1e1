import * as core from '@actions/core';
import { diffObjects, objectFiles } from '../../shared/src/kustomize/index.js';
import { escapeHtml, writeJobSummary } from '../../shared/src/summary/index.js';
import { readRenderConfig, type RenderConfig } from './config.js';
import { publishToDeployBranch, type PublishResult } from './deploy-branch.js';
import { renderPinnedOverlay } from './render.js';
import { describeDiff, MAX_SUMMARY_DIFF, renderSummary } from './summary.js';
import { validateRendered } from './validate.js';

function commitMessage(config: RenderConfig, subject: string, body: string[]): string {
  const trailers = [
    config.sourceRevision ? `Source-Commit: ${config.sourceRevision}` : '',
    process.env.GITHUB_RUN_ID && process.env.GITHUB_REPOSITORY
      ? `Workflow-Run: ${process.env.GITHUB_SERVER_URL ?? 'https://github.com'}/${process.env.GITHUB_REPOSITORY}/actions/runs/${process.env.GITHUB_RUN_ID}`
      : '',
  ].filter(Boolean);
  return [subject, '', ...body, ...(trailers.length ? ['', ...trailers] : [])].join('\n');
}

async function appendDiff(publish: PublishResult): Promise<void> {
  if (!publish.diff) return;
  const lines = publish.diff.split('\n').length;
  const shown =
    publish.diff.length > MAX_SUMMARY_DIFF
      ? `${publish.diff.slice(0, MAX_SUMMARY_DIFF)}\n... (${publish.diff.length - MAX_SUMMARY_DIFF} more characters; see the commit)`
      : publish.diff;
  await core.summary
    .addDetails(`Unified diff (${lines} lines)`, `\n\n<pre lang="diff">${escapeHtml(shown)}</pre>\n\n`)
    .write();
}

/** The action: pin, render, validate, publish to the deploy branch (or restore an earlier render). */
export async function run(): Promise<void> {
  try {
    const config = readRenderConfig((name) => core.getInput(name), process.env);
    const log = (line: string) => core.info(line);
    let publish: PublishResult;
    let validation: Awaited<ReturnType<typeof validateRendered>> | undefined;
    let objects: number | undefined;
    if (config.restoreRevision) {
      const sha = config.restoreRevision;
      publish = await publishToDeployBranch({
        repoDir: config.root,
        remote: config.remote,
        branch: config.deployBranch,
        path: config.outputPath,
        content: { restoreFrom: sha },
        message: () =>
          commitMessage(
            config,
            `rollback(${config.environment}): restore ${config.outputPath} from ${sha.slice(0, 12)}`,
            [`Brings ${config.outputPath}/ back to what deploy-branch commit ${sha} had.`],
          ),
        identity: config.identity,
        push: config.push,
        log,
      });
      objects = publish.next.length;
    } else {
      const pin = config.pin!;
      const reference = `${pin.newName ?? pin.name}@${pin.digest}`;
      core.info(`pinning ${pin.name} to ${reference} in ${config.overlay} and rendering`);
      const rendered = await renderPinnedOverlay(config.root, config.overlay, pin, config.kustomize);
      const files = objectFiles(rendered.objects);
      objects = rendered.objects.length;
      if (config.validate) {
        validation = await validateRendered(files, config.overlay, config.requireDigests);
        if (validation.problems.length > 0) {
          await writeJobSummary(core.summary, renderSummary(config, { validation, objects }, process.env));
          throw new Error(
            `validation found ${validation.problems.length} problem(s) in the render of ${config.overlay}; nothing was published:\n` +
              validation.problems
                .map((p) => `  ${p.object} ${p.field}: ${p.message} [${p.check}]`)
                .join('\n'),
          );
        }
      }
      publish = await publishToDeployBranch({
        repoDir: config.root,
        remote: config.remote,
        branch: config.deployBranch,
        path: config.outputPath,
        content: { files },
        message: (previous) =>
          commitMessage(
            config,
            `render(${config.environment}): ${pin.newName ?? pin.name}@${pin.digest.slice(0, 19)}`,
            [
              `Rendered ${config.overlay}${config.sourceRevision ? ` at ${config.sourceRevision}` : ''} with ${reference}.`,
              `${describeDiff(diffObjects(previous, rendered.objects))}.`,
            ],
          ),
        identity: config.identity,
        push: config.push,
        log,
      });
    }
    const diff = diffObjects(publish.previous, publish.next);
    core.setOutput('commit', publish.commit ?? '');
    core.setOutput('previous-commit', publish.previousCommit ?? '');
    core.setOutput('changed', String(publish.changed));
    core.setOutput('path', config.outputPath);
    if (config.pin) core.setOutput('image', `${config.pin.newName ?? config.pin.name}@${config.pin.digest}`);
    core.setOutput(
      'changes',
      JSON.stringify({
        added: diff.changes.filter((c) => c.change === 'added').map((c) => c.label),
        changed: diff.changes.filter((c) => c.change === 'changed').map((c) => c.label),
        removed: diff.changes.filter((c) => c.change === 'removed').map((c) => c.label),
        unchanged: diff.unchanged,
      }),
    );
    if (publish.stat) core.info(publish.stat);
    await writeJobSummary(
      core.summary,
      renderSummary(config, { publish, diff, validation, objects }, process.env),
    );
    await appendDiff(publish);
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}
