// Starts webhook-receiver.ts as its own process, for the webhook e2e suites.
import { fileURLToPath } from 'node:url';
import { startProcess, tempDir, type Managed } from '../../../testkit/src/index.js';
import { eventually } from './phoenix.js';
import type { ReceivedWebhook } from './webhook-receiver.js';

const receiverMain = fileURLToPath(new URL('./webhook-receiver.ts', import.meta.url));

export interface Receiver {
  proc: Managed;
  url: string;
  /** Every request so far (attempts included), with its status and signature check. */
  requests(): Promise<ReceivedWebhook[]>;
}

/** A receiver verifying signatures with `secret` that answers the first `failFirst` attempts of every event 500. */
export async function startReceiver(secret: string, failFirst: number): Promise<Receiver> {
  const proc = startProcess(process.execPath, ['--import', 'tsx', receiverMain], {
    logDir: tempDir('webhook-receiver'),
    name: 'webhook-receiver',
    env: { PATH: process.env.PATH ?? '', WEBHOOK_SECRET: secret, FAIL_FIRST: String(failFirst) },
  });
  const port = await eventually('the receiver to listen', () => {
    const m = /listening (\d+)/.exec(proc.output());
    return m ? Number(m[1]) : 0;
  });
  const requests = async () =>
    (await (await fetch(`http://127.0.0.1:${port}/requests`)).json()) as ReceivedWebhook[];
  return { proc, url: `http://127.0.0.1:${port}/webhooks`, requests };
}
