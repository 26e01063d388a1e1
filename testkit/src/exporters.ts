// The data stores' Prometheus exporters from Debian's packages (prometheus-postgres-exporter,
// prometheus-redis-exporter), each on a loopback port it picks itself (port 0, read back from its own
// listening socket), configured as the manifests configure the images: credentials in environment
// variables of their own, never on argv or in a URL.
import { execFileSync } from 'node:child_process';
import { waitForListener } from './ports.js';
import { startProcess, tempDir, type Managed } from './process.js';

export interface ExporterProcess {
  /** http://127.0.0.1:PORT/metrics */
  metricsUrl: string;
  /** host:port, for a Prometheus scrape target. */
  target: string;
  output(): string;
  stop(): Promise<void>;
}

/** The installed Debian package's upstream version, e.g. `0.11.1` for `0.11.1-3+b5`. */
export function debianExporterVersion(
  pkg: 'prometheus-postgres-exporter' | 'prometheus-redis-exporter',
): string {
  const full = execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return full.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
}

async function launch(
  name: string,
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<ExporterProcess> {
  const dir = tempDir(name);
  const proc: Managed = startProcess(cmd, args, {
    logDir: dir,
    name,
    env: { PATH: process.env.PATH, ...env },
  });
  let port: number;
  try {
    [port] = (await waitForListener(proc, { what: cmd })) as [number];
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return {
    metricsUrl: `http://127.0.0.1:${port}/metrics`,
    target: `127.0.0.1:${port}`,
    output: proc.output,
    async stop() {
      await proc.stop('SIGTERM', 5000);
    },
  };
}

export interface PostgresExporterOptions {
  /** host:port/database?params, without credentials (DATA_SOURCE_URI). */
  uri: string;
  user: string;
  password?: string;
  /** --extend.query-path: the custom queries file (base/postgres/exporter-queries.yaml). */
  queries?: string;
}

/** Debian's postgres_exporter against one PostgreSQL, as base/postgres/statefulset.yaml runs the image. */
export async function startPostgresExporter(opts: PostgresExporterOptions): Promise<ExporterProcess> {
  return launch(
    'postgres-exporter',
    'prometheus-postgres-exporter',
    [
      '--web.listen-address=127.0.0.1:0',
      '--log.level=warn',
      ...(opts.queries ? [`--extend.query-path=${opts.queries}`] : []),
    ],
    {
      DATA_SOURCE_URI: opts.uri,
      DATA_SOURCE_USER: opts.user,
      ...(opts.password !== undefined ? { DATA_SOURCE_PASS: opts.password } : {}),
    },
  );
}

export interface RedisExporterOptions {
  /** redis://host:port, without credentials (REDIS_ADDR). */
  addr: string;
  password?: string;
}

/** Debian's redis_exporter against one Redis (standalone or one Cluster node), as the Redis StatefulSets run the image. */
export async function startRedisExporter(opts: RedisExporterOptions): Promise<ExporterProcess> {
  // The listen address as the manifests set it: REDIS_EXPORTER_WEB_LISTEN_ADDRESS.
  return launch('redis-exporter', 'prometheus-redis-exporter', [], {
    REDIS_EXPORTER_WEB_LISTEN_ADDRESS: '127.0.0.1:0',
    REDIS_ADDR: opts.addr,
    ...(opts.password !== undefined ? { REDIS_PASSWORD: opts.password } : {}),
  });
}
