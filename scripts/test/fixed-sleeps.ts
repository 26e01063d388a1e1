// Finds fixed sleeps in test code (issue 20, "No timing luck"): a test that sleeps and then asserts
// passes only when the machine was fast enough. A sleep is allowed where its line or the line above
// says `// pacing:` (it paces load or holds a fault, and no assertion depends on its length), and
// inside a loop (a poll, which a condition ends) as long as no assertion follows it in the loop body.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** A fixed sleep found, and the assertion after it (undefined: none within the window). Lines are 1-based. */
export interface FixedSleep {
  file: string;
  line: number;
  assertLine: number | undefined;
  text: string;
}

/** How many non-blank lines after a sleep outside a loop are looked at for an assertion. */
const WINDOW = 4;

const SLEEP =
  /\bawait\s+(?:new Promise\b.*\bsetTimeout\(\s*\w+\s*,|(?:sleep|delay)\()|\(\)\s*=>\s*(?:new Promise\b.*\bsetTimeout\(\s*\w+\s*,|(?:sleep|delay)\()/;
/** Definitions of a sleep helper are not sleeps. */
const DEFINITION = /^\s*(?:export\s+)?(?:const|let|function|async function)\s+(?:sleep|delay)\b/;
const ASSERTION = /\bassert\w*[.(]|\bexpect\(/;
const LOOP = /^\s*(?:\}\s*)?(?:for|while|do)\b/;
const PACING = /\/\/\s*pacing:/;

const indent = (line: string) => line.length - line.trimStart().length;
const blank = (line: string) => line.trim() === '' || line.trim().startsWith('//');

/** The indentation of the nearest enclosing loop opener of line `i`, or undefined. */
function enclosingLoop(lines: string[], i: number): number | undefined {
  let level = indent(lines[i]!);
  for (let j = i - 1; j >= 0 && level > 0; j--) {
    const l = lines[j]!;
    if (blank(l) || indent(l) >= level) continue;
    // `) {` closes a header written over several lines: its opener is the line above at this indentation.
    if (/^\s*\)/.test(l)) {
      level = indent(l) + 1;
      continue;
    }
    level = indent(l);
    if (LOOP.test(l)) return level;
  }
  return undefined;
}

/**
 * The fixed sleeps in one file's text: outside a loop every sleep not marked `// pacing:` (what
 * follows it, an assertion here or in a later test, depends on its length); inside a loop a sleep
 * that an assertion follows within the loop body. `assertLine` is the assertion found within
 * WINDOW lines (or the loop body), if any.
 */
export function fixedSleepsIn(text: string, file = '<text>'): FixedSleep[] {
  const lines = text.split('\n');
  const found: FixedSleep[] = [];
  lines.forEach((line, i) => {
    if (!SLEEP.test(line) || DEFINITION.test(line)) return;
    if (PACING.test(line) || (i > 0 && PACING.test(lines[i - 1]!))) return;
    const loop = enclosingLoop(lines, i);
    let assertLine: number | undefined;
    let seen = 0;
    for (let j = i + 1; j < lines.length; j++) {
      const next = lines[j]!;
      if (blank(next)) continue;
      if (loop !== undefined ? indent(next) <= loop : seen++ >= WINDOW) break;
      if (ASSERTION.test(next)) {
        assertLine = j + 1;
        break;
      }
    }
    if (loop === undefined || assertLine !== undefined)
      found.push({ file, line: i + 1, assertLine, text: line.trim() });
  });
  return found;
}

/** Test code of the repository: every .ts file under these folders, without node_modules or dist. */
function testFolders(root: string): string[] {
  const actions = readdirSync(join(root, 'actions')).map((a) => `actions/${a}/test`);
  return [
    'server/test',
    'testkit',
    'slo/test',
    'loadtests/test',
    'scripts/test',
    'pipeline/test',
    'bench/test',
    'examples',
    ...actions,
  ];
}

function tsFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    if (name === 'node_modules' || name === 'dist') return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Every fixed sleep an assertion follows in the test code under `root`. */
export function fixedSleeps(root: string): FixedSleep[] {
  return testFolders(root)
    .flatMap((dir) => tsFiles(join(root, dir)))
    .flatMap((path) => fixedSleepsIn(readFileSync(path, 'utf8'), relative(root, path)));
}
