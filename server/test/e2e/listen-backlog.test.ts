// LISTEN_BACKLOG: PORT's accept queue, as the kernel reports it for the listening socket (`ss`'s
// Send-Q), so thousands of clients reconnecting at once after a drain are held, not dropped to wait
// out TCP's SYN retries. Node's own default would read 511.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { $ } from 'zx';
import { startSwitchboard } from '../../../testkit/src/index.js';

const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim());

/** The accept-queue limit of the socket listening on `port` (ss: Send-Q of a LISTEN socket). */
async function backlogOf(port: number): Promise<number> {
  const out = await $({ quiet: true })`ss -ltnH ${`sport = :${port}`}`;
  const fields = out.stdout.trim().split(/\s+/);
  assert.equal(fields[0], 'LISTEN', `one listening socket on ${port}: ${out.stdout}`);
  return Number(fields[2]);
}

test('PORT listens with a backlog of 4096 by default (capped by somaxconn)', async () => {
  const server = await startSwitchboard();
  try {
    assert.equal(await backlogOf(server.port), Math.min(4096, somaxconn));
  } finally {
    await server.stop();
  }
});

test('LISTEN_BACKLOG sets it, also on the port a node:cluster primary shares with its workers', async () => {
  const envs: Record<string, string>[] = [
    { LISTEN_BACKLOG: '1000' },
    { LISTEN_BACKLOG: '1000', WORKERS: '2' },
  ];
  for (const env of envs) {
    const server = await startSwitchboard(env);
    try {
      assert.equal(await backlogOf(server.port), Math.min(1000, somaxconn), JSON.stringify(env));
    } finally {
      await server.stop();
    }
  }
});
