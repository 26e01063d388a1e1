// What the local-mode tests share: a real server for the load, a token whose joins it accepts and one
// whose joins it refuses (phx_join_success then fails its threshold), and the action run as a step
// with this repository as the workspace and a temp folder as RUNNER_TEMP.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { signToken, startSwitchboard, type SwitchboardProcess } from '../../../../testkit/src/index.js';
import { runAction, type ActionInputs } from '../../../../pipeline/src/testing/index.js';
import { run } from '../../src/main.js';

export const repo = fileURLToPath(new URL('../../../../', import.meta.url));
export const fakeK6 = fileURLToPath(new URL('./fake-k6.sh', import.meta.url));
export const fakeKubectl = fileURLToPath(new URL('./fake-kubectl.mjs', import.meta.url));

export interface LoadHarness {
  /** RUNNER_TEMP of every step. */
  readonly tmp: string;
  readonly server: SwitchboardProcess;
  /** May join and publish on room:*. */
  readonly token: string;
  /** May join elsewhere:* only: the scenarios' joins are refused. */
  readonly refusedToken: string;
  /** Runs the action once with these inputs (and extra environment). */
  step(inputs: ActionInputs, env?: Record<string, string | undefined>): ReturnType<typeof runAction>;
}

/** Registers the file's before/after hooks; the fields are set once `before` has run. */
export function useLoadHarness(prefix: string): LoadHarness {
  const tmp = mkdtempSync(join(tmpdir(), prefix));
  let server: SwitchboardProcess | undefined;
  let token = '';
  let refusedToken = '';
  before(async () => {
    server = await startSwitchboard({ LOG_LEVEL: 'warn' });
    token = await signToken({ sub: 'load', join: ['room:*'], publish: ['room:*'] });
    refusedToken = await signToken({ sub: 'load', join: ['elsewhere:*'], publish: [] });
  });
  after(() => server?.stop());
  return {
    tmp,
    get server() {
      if (!server) throw new Error('the load harness is used before its before() hook ran');
      return server;
    },
    get token() {
      return token;
    },
    get refusedToken() {
      return refusedToken;
    },
    step: (inputs, env = {}) =>
      runAction(run, { inputs, env: { GITHUB_WORKSPACE: repo, RUNNER_TEMP: tmp, ...env } }),
  };
}
