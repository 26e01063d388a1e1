// Helpers of the WORKERS e2e tests: which worker a client is on (through worker-pid-channels.ts).
import { fileURLToPath } from 'node:url';
import { signToken } from '../../../testkit/src/index.js';
import { connect, eventually, within, type Socket } from './phoenix.js';
import type { RawClient } from './raw-client.js';

/** CHANNELS_MODULE that answers a push on `whoami:*` with the serving process's pid. */
export const workerPidChannels = fileURLToPath(new URL('./worker-pid-channels.ts', import.meta.url));

/** A token for `sub` that may join and publish `room:*` and ask `whoami:*`. */
export function workerTestToken(sub: string): Promise<string> {
  return signToken({ sub, join: ['room:*', 'whoami:*'], publish: ['room:*'] });
}

/** The pid of the process serving `socket` (a phoenix client). */
export async function pidOf(socket: Socket): Promise<number> {
  const channel = socket.channel('whoami:me', {});
  await within(
    10_000,
    'whoami join',
    new Promise<void>((resolve, reject) => {
      channel
        .join()
        .receive('ok', () => resolve())
        .receive('error', reject);
    }),
  );
  const pid = await within(
    10_000,
    'whoami reply',
    new Promise<number>((resolve, reject) => {
      channel
        .push('pid', {})
        .receive('ok', (r: { pid: number }) => resolve(r.pid))
        .receive('error', reject);
    }),
  );
  channel.leave();
  return pid;
}

/** The pid of the process serving a raw client (joins `whoami:me` with join ref `w`). */
export async function pidOfRaw(raw: RawClient): Promise<number> {
  raw.send(['w', 'w1', 'whoami:me', 'phx_join', {}]);
  await raw.waitFor((f) => f[1] === 'w1', 'whoami join reply');
  raw.send(['w', 'w2', 'whoami:me', 'pid', {}]);
  const reply = await raw.waitFor((f) => f[1] === 'w2', 'whoami reply');
  return (reply[4] as { response: { pid: number } }).response.pid;
}

/**
 * Connects phoenix clients of `sub` to `socketUrl` until `count` distinct processes serve them
 * (node:cluster hands connections round-robin, so a few suffice); resolves with one client per pid.
 */
export async function clientsOnDistinctWorkers(
  socketUrl: string,
  sub: string,
  count: number,
  opened: Socket[],
): Promise<Map<number, Socket>> {
  const token = await workerTestToken(sub);
  const byPid = new Map<number, Socket>();
  await eventually(
    `${count} clients on distinct workers`,
    async () => {
      const socket = await connect(socketUrl, { params: { token } });
      opened.push(socket);
      const pid = await pidOf(socket);
      if (byPid.has(pid)) socket.disconnect();
      else byPid.set(pid, socket);
      return byPid.size >= count;
    },
    30_000,
  );
  return byPid;
}
