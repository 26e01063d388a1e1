import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getExecOutput } from '@actions/exec';

/** One problem the validation found (scripts/lib/validate's Problem). */
export interface ValidationProblem {
  target: string;
  object: string;
  field: string;
  message: string;
  check: string;
}

/** The checkout that holds this action: from src/*.ts and from dist/index.js alike. */
const actionRepo = fileURLToPath(new URL('../../../', import.meta.url));
const validator = fileURLToPath(new URL('../src/validate-rendered.ts', import.meta.url));

/**
 * Runs the project's validation on the rendered files (one YAML per object) in a child process with the
 * checkout's dependencies -- the same library `npm run validate` uses -- and returns its problems.
 */
export async function validateRendered(
  files: Map<string, string>,
  target: string,
  requireDigests: boolean,
): Promise<{ objects: number; problems: ValidationProblem[] }> {
  if (!existsSync(join(actionRepo, 'node_modules', 'tsx'))) {
    throw new Error(
      `validate: the project's validation runs with the repository's dependencies, and ${actionRepo}node_modules has no tsx: run \`npm ci\` before this step (or set validate: false)`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'render-validate-'));
  try {
    for (const [name, text] of files) writeFileSync(join(dir, name), text);
    const args = [
      '--import',
      'tsx',
      validator,
      '--target',
      target,
      ...(requireDigests ? ['--require-digests'] : []),
      dir,
    ];
    const result = await getExecOutput(process.execPath, args, {
      cwd: actionRepo,
      silent: true,
      ignoreReturnCode: true,
    });
    if (result.exitCode !== 0) {
      throw new Error(
        `validation could not run (exit ${result.exitCode}): ${result.stderr.trim() || result.stdout.trim()}`,
      );
    }
    return JSON.parse(result.stdout) as { objects: number; problems: ValidationProblem[] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
