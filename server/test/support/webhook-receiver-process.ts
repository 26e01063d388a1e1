// Starts webhook-receiver.ts as its own process, for the webhook e2e suites.
import {
  refusedPort,
  startSwitchboard,
  type Managed,
  type SwitchboardProcess,
} from '../../../testkit/src/index.js';
import { startListening } from './listening-process.js';
import type { ReceivedWebhook } from './webhook-receiver.js';

export interface Receiver {
  proc: Managed;
  url: string;
  /** Every request so far (attempts included), with its status and signature check. */
  requests(): Promise<ReceivedWebhook[]>;
}

/** A receiver verifying signatures with `secret` that answers the first `failFirst` attempts of every event 500. */
export async function startReceiver(secret: string, failFirst: number): Promise<Receiver> {
  const { proc, port } = await startListening('webhook-receiver.ts', {
    WEBHOOK_SECRET: secret,
    FAIL_FIRST: String(failFirst),
  });
  const requests = async () =>
    (await (await fetch(`http://127.0.0.1:${port}/requests`)).json()) as ReceivedWebhook[];
  return { proc, url: `http://127.0.0.1:${port}/webhooks`, requests };
}

/**
 * One node whose receiver is down (a refused port) and whose outbox holds two events, each tried twice
 * 1 s apart: what fits fails after WEBHOOK_MAX_ATTEMPTS, the rest is dropped. `env` picks the events.
 */
export async function startNodeWithReceiverDown(
  secret: string,
  env: Record<string, string>,
): Promise<SwitchboardProcess> {
  return startSwitchboard({
    WEBHOOK_URL: `http://127.0.0.1:${await refusedPort()}/down`,
    WEBHOOK_SECRET: secret,
    WEBHOOK_QUEUE_MAX: '2',
    WEBHOOK_MAX_ATTEMPTS: '2',
    WEBHOOK_RETRY_BASE_MS: '1000',
    WEBHOOK_RETRY_MAX_MS: '1000',
    ...env,
  });
}
