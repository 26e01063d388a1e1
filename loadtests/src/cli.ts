/**
 * `npm run loadtest -- <scenario> [options]`: runs a scenario on Node like `k6 run` would.
 *
 * Steps: parse flags (flag > environment > scenario default); run the scenario with progress on
 * stderr once a second; print the metrics and thresholds table on stdout; write the summary JSON;
 * exit 0, 99 when a threshold failed (k6's code), 104 on bad configuration (k6's code), 1 otherwise.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs as parseNodeArgs } from 'node:util';
import { ConfigError, envKeys } from '../lib/config.js';
import { renderSummaryTable } from '../lib/summary.js';
import { ThresholdError } from '../lib/thresholds.js';
import { scenarios } from '../scenarios/index.js';
import { findScenario, runScenario, type RunScenarioOptions } from './runner.js';

/** k6's exit codes the runner reuses. */
export const exitCodes = { ok: 0, thresholdsFailed: 99, invalidConfig: 104, error: 1 } as const;

/** Help text. */
export function usage(): string {
  return [
    'usage: npm run loadtest -- <scenario> [options]',
    '',
    `scenarios: ${Object.values(scenarios)
      .map((s) => s.name)
      .join(', ')}`,
    '',
    'options (each also read from the environment variable in brackets, as k6 reads -e):',
    '  --url URL            socket endpoint, e.g. ws://127.0.0.1:4000/socket [URL]',
    '  --token JWT          token for every VU [TOKEN]; TOKENS takes a comma-separated list',
    '  --jwt-secret SECRET  sign one HS256 token per VU instead [JWT_SECRET]',
    '  --vus N              virtual users [VUS]',
    '  --duration D         k6 duration such as 30s or 1m30s [DURATION]',
    '  --rooms N            rooms [ROOMS]',
    '  --summary PATH       summary JSON path [SUMMARY_PATH] (default <scenario>-summary.json)',
    '  -e, --env KEY=VALUE  any scenario variable, repeatable (see docs/loadtests.md)',
    '  --quiet              no progress lines',
    '',
    'exit status: 0 ok, 99 a threshold failed, 104 bad configuration, 1 other error',
  ].join('\n');
}

/** Parsed command line. */
export interface CliArgs {
  help: boolean;
  quiet: boolean;
  run?: RunScenarioOptions;
}

/** Parses argv (without node and script) over `environment`; throws ConfigError naming the bad flag. */
export function parseArgs(argv: string[], environment: NodeJS.ProcessEnv = process.env): CliArgs {
  const { values, positionals } = parseNodeArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      'jwt-secret': { type: 'string' },
      vus: { type: 'string' },
      duration: { type: 'string' },
      rooms: { type: 'string' },
      summary: { type: 'string' },
      env: { type: 'string', short: 'e', multiple: true },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return { help: true, quiet: false };
  const [name, ...extra] = positionals;
  if (!name || extra.length > 0) {
    throw new ConfigError([`give exactly one scenario name (got ${positionals.length}); see --help`]);
  }
  const scenario = findScenario(name);
  const env: Record<string, string> = {};
  for (const key of envKeys) {
    const v = environment[key];
    if (v !== undefined && v !== '') env[key] = v;
  }
  for (const pair of values.env ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ConfigError([`--env ${JSON.stringify(pair)} is invalid: write --env KEY=VALUE`]);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (values.url !== undefined) env.URL = values.url;
  if (values.token !== undefined) env.TOKEN = values.token;
  if (values.vus !== undefined) env.VUS = values.vus;
  if (values.duration !== undefined) env.DURATION = values.duration;
  if (values.rooms !== undefined) env.ROOMS = values.rooms;
  if (values.summary !== undefined) env.SUMMARY_PATH = values.summary;
  const jwtSecret = values['jwt-secret'] ?? environment.JWT_SECRET;
  return {
    help: false,
    quiet: values.quiet ?? false,
    run: {
      scenario,
      env,
      ...(jwtSecret ? { jwtSecret } : {}),
      summaryPath: env.SUMMARY_PATH || `${scenario.name}-summary.json`,
    },
  };
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv = process.argv.slice(2)): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    console.error(usage());
    return exitCodes.invalidConfig;
  }
  if (args.help || !args.run) {
    console.log(usage());
    return exitCodes.ok;
  }
  const tty = process.stderr.isTTY;
  let iterationErrors = 0;
  try {
    const summary = await runScenario({
      ...args.run,
      ...(args.quiet
        ? {}
        : { onProgress: (line: string) => process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`) }),
      onIterationError: (err) => {
        if (iterationErrors++ < 5)
          console.error(`iteration error: ${err instanceof Error ? err.stack : err}`);
      },
    });
    if (tty && !args.quiet) process.stderr.write('\n');
    process.stdout.write(renderSummaryTable(summary));
    console.log(`summary written to ${args.run.summaryPath}`);
    return summary.ok ? exitCodes.ok : exitCodes.thresholdsFailed;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ThresholdError) {
      console.error(err.message);
      return exitCodes.invalidConfig;
    }
    console.error(err);
    return exitCodes.error;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
