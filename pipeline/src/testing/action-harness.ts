import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Inputs by their action.yml name (`timeout-seconds`), values as a workflow would pass them. */
export type ActionInputs = Record<string, string | number | boolean>;

/** What one run of an action produced, read back the way the runner reads it. */
export interface ActionRunResult {
  /** From the GITHUB_OUTPUT file. */
  outputs: Record<string, string>;
  /** The job summary HTML (GITHUB_STEP_SUMMARY) written by this run. */
  summary: string;
  /** `core.setFailed` was called (exit code 1). */
  failed: boolean;
  /** Messages of `::error::` commands (incl. setFailed's), decoded. */
  errors: string[];
  /** Messages of `::warning::` commands, decoded. */
  warnings: string[];
  /** Everything written to stdout. */
  log: string;
}

/** Options for {@link runAction} / {@link runActionProcess}. */
export interface RunActionOptions {
  inputs: ActionInputs;
  /** Extra environment (GITHUB_EVENT_PATH, ACTIONS_ID_TOKEN_REQUEST_URL, ...); undefined removes a variable. */
  env?: Record<string, string | undefined>;
}

/** `@actions/core`'s name mapping: `INPUT_` + upper-cased name, spaces to `_`, hyphens kept. */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

let workDir: string | undefined;
function harnessDir(): string {
  workDir ??= mkdtempSync(join(tmpdir(), 'action-harness-'));
  return workDir;
}

/**
 * Runs an action's `run()` in-process with real inputs: sets INPUT_* variables, GITHUB_OUTPUT and
 * GITHUB_STEP_SUMMARY to temp files, captures stdout, then restores the environment and
 * `process.exitCode` (so a failing action does not fail the test process) and returns what it produced.
 *
 * `@actions/core` caches the summary file path on first use, so one summary file is reused per process
 * and truncated before each run. Runs must not overlap (node:test runs a file's tests in sequence).
 */
export async function runAction(
  run: () => Promise<void>,
  options: RunActionOptions,
): Promise<ActionRunResult> {
  const dir = harnessDir();
  const outputPath = join(dir, `output-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const summaryPath = join(dir, 'step-summary.html');
  writeFileSync(outputPath, '');
  writeFileSync(summaryPath, '');
  const env = buildEnv(options, outputPath, summaryPath);
  const saved = new Map<string, string | undefined>();
  for (const key of Object.keys(process.env)) if (key.startsWith('INPUT_')) saved.set(key, process.env[key]);
  for (const key of Object.keys(env)) saved.set(key, process.env[key]);
  for (const key of saved.keys()) if (key.startsWith('INPUT_')) delete process.env[key];
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  const previousExitCode = process.exitCode;
  process.exitCode = undefined;
  let log = '';
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    // @actions/core writes strings. node:test's child-process reporter writes serialized Buffers to the
    // same stdout -- those must pass through or test results get lost.
    if (typeof chunk !== 'string' || process.env.ACTION_HARNESS_VERBOSE) {
      if (typeof chunk === 'string') log += chunk;
      return (write as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
    }
    log += chunk;
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof process.stdout.write;
  let failed: boolean;
  try {
    await run();
  } finally {
    process.stdout.write = write;
    failed = process.exitCode === 1;
    process.exitCode = previousExitCode;
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
  return {
    outputs: parseOutputFile(readFileSync(outputPath, 'utf8')),
    summary: readFileSync(summaryPath, 'utf8'),
    failed,
    ...parseCommands(log),
    log,
  };
}

/**
 * Runs a bundled action (`node dist/index.js`) as the runner would, in a child process with the same
 * environment contract as {@link runAction}; proves the committed bundle works on its own.
 */
export async function runActionProcess(entry: string, options: RunActionOptions & { timeoutMs?: number }) {
  const dir = mkdtempSync(join(harnessDir(), 'process-'));
  const outputPath = join(dir, 'output');
  const summaryPath = join(dir, 'summary.html');
  writeFileSync(outputPath, '');
  writeFileSync(summaryPath, '');
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('INPUT_')));
  const env = { ...base, ...buildEnv(options, outputPath, summaryPath) };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  const child = spawn(process.execPath, [entry], {
    env: env as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (log += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  clearTimeout(timer);
  return {
    outputs: parseOutputFile(readFileSync(outputPath, 'utf8')),
    summary: readFileSync(summaryPath, 'utf8'),
    failed: exitCode !== 0,
    exitCode,
    stderr,
    ...parseCommands(log),
    log,
  };
}

function buildEnv(options: RunActionOptions, outputPath: string, summaryPath: string) {
  const env: Record<string, string | undefined> = {
    GITHUB_OUTPUT: outputPath,
    GITHUB_STEP_SUMMARY: summaryPath,
    ...options.env,
  };
  for (const [name, value] of Object.entries(options.inputs)) env[inputEnvName(name)] = String(value);
  return env;
}

/** Parses GITHUB_OUTPUT's `name<<DELIM\nvalue\nDELIM` blocks (and plain `name=value` lines). */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const value: string[] = [];
      for (i += 1; i < lines.length && lines[i] !== delimiter; i += 1) value.push(lines[i]!);
      outputs[name!] = value.join('\n');
    } else if (line.includes('=')) {
      outputs[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return outputs;
}

function parseCommands(log: string): { errors: string[]; warnings: string[] } {
  const decode = (s: string) => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
  const pick = (command: string) =>
    log
      .split('\n')
      .map((line) => new RegExp(`^::${command}(?: [^:]*)?::(.*)$`).exec(line.replace(/\r$/, '')))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => decode(m[1]!));
  return { errors: pick('error'), warnings: pick('warning') };
}
