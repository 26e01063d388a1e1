import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { waitForListener } from './ports.js';
import { startProcess, tempDir } from './process.js';

export interface PrometheusOptions {
  /** host:port of each /metrics endpoint to scrape (one job, `switchboard`). */
  scrapeTargets: string[];
  /**
   * More targets of the same job with target labels, e.g. `{ namespace: 'switchboard-staging' }`:
   * what the Prometheus Operator's ServiceMonitor relabelling gives a pod, so one Prometheus can hold
   * several environments' series as it does in a cluster.
   */
  labelledTargets?: { targets: string[]; labels: Record<string, string> }[];
  /** Absolute paths of rule files to load (recording and alerting rules). */
  ruleFiles?: string[];
  /** Scrape and rule-evaluation interval; default 1000 ms so tests see data within seconds. */
  scrapeIntervalMs?: number;
  /** How long to wait for /-/ready; default 30 s. */
  readyTimeoutMs?: number;
  /**
   * remote_read endpoints queried with every PromQL query (read_recent). One that refuses makes
   * Prometheus answer with the local data plus a `warnings` entry: a partial result, as a store
   * behind Thanos or Mimir that is down gives.
   */
  remoteReadUrls?: string[];
}

/** One sample of an instant-vector query result. */
export interface PrometheusSample {
  labels: Record<string, string>;
  value: number;
}

export interface PrometheusServer {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** Instant query at the current time; throws on a PromQL error or a non-vector result. */
  query(promql: string): Promise<PrometheusSample[]>;
  /** GET /api/v1/<path> and return `data` (e.g. 'rules', 'targets'); throws when status is not success. */
  api<T = unknown>(path: string): Promise<T>;
  /**
   * Resolves once every target was scraped after `since` (ms since the epoch) and every rule group
   * evaluated twice after those scrapes were stored: the rules and alerts then count every event
   * that happened before `since`. Rejects after `timeoutMs` (default 60 s).
   */
  evaluatedAfter(since: number, timeoutMs?: number): Promise<void>;
  /**
   * Resolves once every target was scraped `scrapes` times after `since`: a window that starts that
   * many scrapes before now then holds nothing from before `since` (the SLO gate's lead before a load).
   */
  scrapedAfter(since: number, scrapes: number, timeoutMs?: number): Promise<void>;
  /**
   * Replaces the labelled targets and reloads the configuration (SIGHUP), as the Operator's config
   * reloader does when a pod joins a ServiceMonitor's endpoints; resolves once Prometheus lists
   * exactly the new targets (default timeout 30 s).
   */
  setLabelledTargets(
    targets: NonNullable<PrometheusOptions['labelledTargets']>,
    timeoutMs?: number,
  ): Promise<void>;
  output(): string;
  stop(): Promise<void>;
}

interface ApiResponse<T> {
  status: 'success' | 'error';
  data: T;
  errorType?: string;
  error?: string;
}

/**
 * Starts Debian's real `prometheus` binary on a loopback port it picks itself (port 0, read back
 * from the process's own listening socket) with a temp config and TSDB, scraping `scrapeTargets`
 * and evaluating `ruleFiles` every `scrapeIntervalMs`.
 */
export async function startPrometheus(opts: PrometheusOptions): Promise<PrometheusServer> {
  const dir = tempDir('prometheus');
  const interval = `${opts.scrapeIntervalMs ?? 1000}ms`;
  const config = {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    rule_files: opts.ruleFiles ?? [],
    scrape_configs: [
      {
        job_name: 'switchboard',
        static_configs: [
          ...(opts.scrapeTargets.length > 0 ? [{ targets: opts.scrapeTargets }] : []),
          ...(opts.labelledTargets ?? []),
        ],
      },
    ],
  };
  if (opts.remoteReadUrls) {
    Object.assign(config, { remote_read: opts.remoteReadUrls.map((url) => ({ url, read_recent: true })) });
  }
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, stringify(config));
  const staticTargets = config.scrape_configs[0]!.static_configs.filter((c) => !('labels' in c));
  const proc = startProcess(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      '--web.listen-address=127.0.0.1:0',
      '--log.level=warn',
    ],
    { logDir: dir, name: 'prometheus' },
  );
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const listening = await waitForListener(proc, { what: 'prometheus', timeoutMs: readyTimeoutMs }).catch(
    async (err: Error) => {
      await proc.stop('SIGKILL');
      throw err;
    },
  );
  const port = listening[0]!;
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null) {
      throw new Error(`prometheus exited with ${proc.child.exitCode} before it was ready:\n${proc.output()}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await proc.stop('SIGKILL');
      throw new Error(`prometheus on ${port} not ready in time:\n${proc.output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  async function api<T>(path: string, params?: Record<string, string>): Promise<T> {
    const qs = params ? `?${new URLSearchParams(params)}` : '';
    const res = await fetch(`${url}/api/v1/${path}${qs}`);
    const body = (await res.json()) as ApiResponse<T>;
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.errorType}: ${body.error}`);
    return body.data;
  }

  /** Probes every 100 ms (faster than any scrape interval the tests use) until it answers. */
  function poller(timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    return async <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => {
      for (;;) {
        const value = await probe();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`prometheus: no ${what} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
  }

  async function evaluatedAfter(since: number, timeoutMs = 60_000): Promise<void> {
    const poll = poller(timeoutMs);
    const stored = await poll('scrape of every target', async () => {
      const { activeTargets } = await api<{
        activeTargets: { lastScrape: string; lastScrapeDuration: number }[];
      }>('targets');
      const starts = activeTargets.map((t) => Date.parse(t.lastScrape));
      if (activeTargets.length === 0 || starts.some((t) => t < since)) return undefined;
      return Math.max(...activeTargets.map((t, i) => starts[i]! + t.lastScrapeDuration * 1000));
    });
    const evaluations = async () =>
      new Map(
        (await api<{ groups: { name: string; lastEvaluation: string }[] }>('rules')).groups.map((g) => [
          g.name,
          Date.parse(g.lastEvaluation),
        ]),
      );
    const first = await poll('rule evaluation after the scrapes', async () => {
      const e = await evaluations();
      return [...e.values()].every((t) => t > stored) ? e : undefined;
    });
    await poll('second rule evaluation', async () => {
      const e = await evaluations();
      return [...first].every(([name, t]) => (e.get(name) ?? 0) > t) ? true : undefined;
    });
  }

  async function scrapedAfter(since: number, scrapes: number, timeoutMs = 60_000): Promise<void> {
    const seen = new Map<string, Set<number>>();
    await poller(timeoutMs)(`${scrapes} scrapes of every target`, async () => {
      const { activeTargets } = await api<{ activeTargets: { scrapeUrl: string; lastScrape: string }[] }>(
        'targets',
      );
      for (const t of activeTargets) {
        const at = Date.parse(t.lastScrape);
        if (at > since) seen.set(t.scrapeUrl, (seen.get(t.scrapeUrl) ?? new Set<number>()).add(at));
      }
      const done =
        activeTargets.length > 0 && activeTargets.every((t) => (seen.get(t.scrapeUrl)?.size ?? 0) >= scrapes);
      return done || undefined;
    });
  }

  async function setLabelledTargets(
    targets: NonNullable<PrometheusOptions['labelledTargets']>,
    timeoutMs = 30_000,
  ): Promise<void> {
    config.scrape_configs[0]!.static_configs = [...staticTargets, ...targets];
    writeFileSync(configFile, stringify(config));
    proc.child.kill('SIGHUP');
    const want = new Set(
      [...staticTargets, ...targets].flatMap((t) => t.targets.map((a) => `http://${a}/metrics`)),
    );
    await poller(timeoutMs)('reloaded targets', async () => {
      const { activeTargets } = await api<{ activeTargets: { scrapeUrl: string }[] }>('targets');
      const urls = new Set(activeTargets.map((t) => t.scrapeUrl));
      return urls.size === want.size && [...want].every((u) => urls.has(u)) ? true : undefined;
    });
  }

  return {
    url,
    port,
    api: (path) => api(path),
    evaluatedAfter,
    scrapedAfter,
    setLabelledTargets,
    async query(promql) {
      const data = await api<{
        resultType: string;
        result: { metric: Record<string, string>; value: [number, string] }[];
      }>('query', { query: promql });
      if (data.resultType !== 'vector')
        throw new Error(`query returned a ${data.resultType}, not a vector: ${promql}`);
      return data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
    },
    output: proc.output,
    async stop() {
      await proc.stop('SIGTERM', 10_000);
    },
  };
}
