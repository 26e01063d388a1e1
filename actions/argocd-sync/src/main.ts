import * as core from '@actions/core';
import { ArgoCdClient, resolveArgoCdToken } from '../../../pipeline/src/argocd/index.js';
import { writeJobSummary } from '../../../pipeline/src/summary/index.js';
import { readSyncConfig } from './config.js';
import { syncSummary } from './summary.js';
import { syncToRevision } from './sync-app.js';
import { realRuntime } from './wait.js';

/** The action: read inputs, sync and wait, set outputs, write the job summary, fail with the reason. */
export async function run(): Promise<void> {
  try {
    const config = readSyncConfig((name) => core.getInput(name));
    const token = await resolveArgoCdToken(config.auth, config.server, (audience) =>
      core.getIDToken(audience),
    );
    core.setSecret(token);
    const client = new ArgoCdClient({ server: config.server, token });
    const report = await syncToRevision(
      client,
      config,
      realRuntime((message) => core.info(message)),
    );

    core.setOutput('sync-status', report.final.syncStatus);
    core.setOutput('health-status', report.final.healthStatus);
    core.setOutput('revision', report.final.revision);
    core.setOutput('rolled-back', String(report.rollback?.result === 'succeeded'));
    await writeJobSummary(core.summary, syncSummary(report));

    if (!report.succeeded) {
      const rollback = report.rollback ? `\n${report.rollback.message}` : '';
      core.setFailed(`${report.failure?.message ?? 'sync failed'}${rollback}`);
    }
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}
