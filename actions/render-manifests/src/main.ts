import * as core from '@actions/core';
import { escapeHtml, writeJobSummary } from '../../../pipeline/src/summary/index.js';
import { readRenderConfig } from './config.js';
import type { PublishResult } from './deploy-branch.js';
import { renderAndPublish, renderOutputs } from './render-and-publish.js';
import { MAX_SUMMARY_DIFF, renderSummary } from './summary.js';

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
    const token = core.getInput('token').trim();
    if (token) core.setSecret(token);
    const config = readRenderConfig((name) => core.getInput(name), process.env);
    for (const value of Object.values(config.gitEnv))
      if (value.startsWith('AUTHORIZATION')) core.setSecret(value);
    const outcome = await renderAndPublish(config, process.env, (line) => core.info(line));
    if ('failed' in outcome) {
      const { validation, objects } = outcome;
      await writeJobSummary(core.summary, renderSummary(config, { validation, objects }, process.env));
      throw new Error(outcome.failed);
    }
    const { publish, diff, validation, objects } = outcome;
    for (const [name, value] of Object.entries(renderOutputs(config, publish, diff)))
      core.setOutput(name, value);
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
