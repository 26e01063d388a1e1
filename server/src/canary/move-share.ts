// Moves a bounded share of the stable pods' connections to a canary: the canary's PostSync Job
// (base/server/canary) runs this with the server image.
//
// As a command:  STABLE_PODS=switchboard-stable API_TOKEN=... MOVE_PERCENT=10 MOVE_WINDOW_MS=30000 \
//                node server/dist/canary/move-share.js
//
// Steps: resolve every address of STABLE_PODS (a headless Service: one A record per ready stable pod),
// then POST /api/drain {"percent","window_ms"} to each pod's own address. Each pod closes its oldest
// share with 1012 and a reconnect hint, paced over the window; the clients reconnect through the
// Service, where the canary is one of the endpoints. No Kubernetes API and no RBAC: DNS and the
// API token the pods already share.
import { lookup } from 'node:dns/promises';
import { isEntryPoint } from '../entry-point.js';

/** The validated environment of the Job. */
export interface MoveShareConfig {
  /** Host name whose addresses are the stable pods (a headless Service). */
  host: string;
  port: number;
  apiToken: string;
  percent: number;
  windowMs: number;
}

/** The server's own bound for a share drain's window (transport/api-drain.ts MAX_SHARE_WINDOW_MS). */
const MAX_WINDOW_MS = 600_000;
const HOST = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/i;

function wholeNumber(name: string, raw: string | undefined, min: number, max: number): number {
  const text = (raw ?? '').trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new Error(`${name}: "${text.slice(0, 40)}" must be a whole number from ${min} to ${max}`);
  }
  return n;
}

/** Reads the Job's environment; every error names the variable and what it takes. */
export function readMoveShareConfig(env: NodeJS.ProcessEnv): MoveShareConfig {
  const host = (env.STABLE_PODS ?? '').trim();
  if (!HOST.test(host) || host.length > 253) {
    throw new Error(
      `STABLE_PODS: "${host.slice(0, 64)}" is not a host name; set the stable pods' headless Service, e.g. switchboard-stable`,
    );
  }
  const apiToken = (env.API_TOKEN ?? '').trim();
  if (apiToken === '')
    throw new Error("API_TOKEN is empty: mount the key API_TOKEN of the pods' Secret (switchboard-secrets)");
  return {
    host,
    port: wholeNumber('STABLE_PORT', env.STABLE_PORT ?? '4000', 1, 65535),
    apiToken,
    percent: wholeNumber('MOVE_PERCENT', env.MOVE_PERCENT, 1, 100),
    windowMs: wholeNumber('MOVE_WINDOW_MS', env.MOVE_WINDOW_MS, 0, MAX_WINDOW_MS),
  };
}

/** One stable pod's answer. */
export interface PodMove {
  address: string;
  /** Sockets the pod is closing (its 202 answer), or undefined when it refused. */
  closing?: number;
  error?: string;
}

/** Resolves a host to every address it has (a headless Service: one per ready pod). */
export type Resolver = (host: string) => Promise<string[]>;

export const dnsResolver: Resolver = async (host) =>
  (await lookup(host, { all: true })).map((a) => (a.family === 6 ? `[${a.address}]` : a.address));

/** Asks every stable pod to close its share; one pod's refusal does not stop the others. */
export async function moveShare(
  config: MoveShareConfig,
  resolve: Resolver = dnsResolver,
): Promise<PodMove[]> {
  const addresses = [...new Set(await resolve(config.host))];
  if (addresses.length === 0)
    throw new Error(`${config.host} resolves to no address: no stable pod is ready`);
  const body = JSON.stringify({ percent: config.percent, window_ms: config.windowMs });
  return Promise.all(
    addresses.map(async (address): Promise<PodMove> => {
      try {
        const res = await fetch(`http://${address}:${config.port}/api/drain`, {
          method: 'POST',
          headers: { authorization: `Bearer ${config.apiToken}`, 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        // The answer is bounded by the server (a small JSON object); read at most what it sends.
        const text = (await res.text()).slice(0, 512);
        if (res.status !== 202) return { address, error: `HTTP ${res.status}: ${text}` };
        const closing = (JSON.parse(text) as { closing?: unknown }).closing;
        return { address, closing: typeof closing === 'number' ? closing : 0 };
      } catch (err) {
        return { address, error: (err as Error).message };
      }
    }),
  );
}

async function main(): Promise<void> {
  const config = readMoveShareConfig(process.env);
  const moves = await moveShare(config);
  for (const m of moves)
    console.log(
      m.error
        ? `${m.address}: refused: ${m.error}`
        : `${m.address}: closing ${m.closing} over ${config.windowMs} ms`,
    );
  const moved = moves.reduce((n, m) => n + (m.closing ?? 0), 0);
  console.log(`moving ${moved} connections from ${moves.length} stable pods (${config.percent} % each)`);
  // A pod that refused keeps all its sockets: the canary is judged on fewer, so the Job fails and says so.
  if (moves.some((m) => m.error)) process.exit(1);
}

if (isEntryPoint(import.meta.url)) {
  main().catch((err: Error) => {
    console.error(`move-share: ${err.message}`);
    process.exit(1);
  });
}
