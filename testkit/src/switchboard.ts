import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { onFreePorts, waitForListener } from './ports.js';
import { startProcess, tempDir, type Managed } from './process.js';

const serverMain = fileURLToPath(new URL('../../server/src/main.ts', import.meta.url));

/**
 * Secrets used by tests only; generated per test process, never committed. 24 random bytes each: the
 * server refuses a JWT_SECRET under 32 characters, and a Math.random() string was sometimes shorter.
 */
export const testSecrets = {
  jwtSecret: `test-jwt-${randomBytes(24).toString('hex')}`,
  apiToken: `test-api-${randomBytes(24).toString('hex')}`,
};

export interface SwitchboardProcess {
  port: number;
  /** http://127.0.0.1:PORT */
  httpUrl: string;
  metricsPort: number;
  /** http://127.0.0.1:METRICS_PORT : /metrics, /healthz and /readyz. */
  metricsUrl: string;
  /** ws://127.0.0.1:PORT/socket : what `new Socket(url)` of the phoenix client takes. */
  socketUrl: string;
  proc: Managed;
  output(): string;
  /** SIGTERM (graceful drain) by default; resolves with the exit status. */
  stop(
    signal?: NodeJS.Signals,
    graceMs?: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): Promise<void>;
}

/**
 * Starts the real server as a child process (`node --import tsx server/src/main.ts`) on free ports
 * (PORT and METRICS_PORT, or `opts.port`), waits until the process itself listens on both and
 * `/healthz` answers on the metrics port. A port taken between its pick and the server's bind
 * (EADDRINUSE) is replaced and the server started again. `env` is merged over test defaults
 * (JWT_SECRET, API_TOKEN).
 */
export async function startSwitchboard(
  env: Record<string, string> = {},
  opts: { port?: number; metricsPort?: number; readyTimeoutMs?: number } = {},
): Promise<SwitchboardProcess> {
  const dir = tempDir('switchboard');
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const launch = async ([picked, pickedMetrics]: number[]) => {
    const port = opts.port ?? picked!;
    const metricsPort = opts.metricsPort ?? pickedMetrics!;
    const proc = startProcess(process.execPath, ['--import', 'tsx', serverMain], {
      logDir: dir,
      name: `switchboard-${port}`,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        JWT_SECRET: testSecrets.jwtSecret,
        API_TOKEN: testSecrets.apiToken,
        LOG_LEVEL: 'info',
        ...env,
      },
    });
    try {
      await waitForListener(proc, {
        ports: [port, metricsPort],
        what: `switchboard on ${port}`,
        addrInUse: /EADDRINUSE/,
        timeoutMs: readyTimeoutMs,
      });
    } catch (err) {
      await proc.stop('SIGKILL');
      throw err;
    }
    return { port, metricsPort, proc };
  };
  // Ports given by the caller are not replaced: one attempt, and a taken one fails with the output.
  const fixed = opts.port !== undefined && opts.metricsPort !== undefined;
  const { port, metricsPort, proc } = await onFreePorts(2, launch, fixed ? 1 : 5);
  const httpUrl = `http://127.0.0.1:${port}`;
  const metricsUrl = `http://127.0.0.1:${metricsPort}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null) {
      throw new Error(
        `switchboard exited with ${proc.child.exitCode} before it was healthy:\n${proc.output()}`,
      );
    }
    const ok = await fetch(`${metricsUrl}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) {
      await proc.stop('SIGKILL');
      throw new Error(`switchboard on ${port} not healthy in time:\n${proc.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    httpUrl,
    metricsPort,
    metricsUrl,
    socketUrl: `ws://127.0.0.1:${port}/socket`,
    proc,
    output: proc.output,
    stop: (signal = 'SIGTERM', graceMs = 40_000) => proc.stop(signal, graceMs),
    async kill() {
      await proc.stop('SIGKILL');
    },
  };
}

/** Claims the server reads: `sub` is the user id; `join`/`publish` are topic patterns such as `room:*`. */
export interface TokenClaims {
  sub: string;
  join?: string[];
  publish?: string[];
  [k: string]: unknown;
}

/** Signs an HS256 JWT with the test secret (or `secret`), valid for `ttl` (default 1h). */
export async function signToken(
  claims: TokenClaims,
  secret = testSecrets.jwtSecret,
  ttl = '1h',
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(new TextEncoder().encode(secret));
}
