/**
 * Summarises a V8 CPU profile (`.cpuprofile`, from `npm run bench -- --cpu-prof DIR`): the functions
 * with the most self time, and the heaviest call paths into them.
 *
 * Usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top N]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function (name + file:line), and total, in µs. */
export function summarise(p: Profile, top: number): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    self.set(id, (self.get(id) ?? 0) + dt);
    total += dt;
  });
  const label = (n: ProfileNode) => {
    const f = n.callFrame;
    const where = f.url ? `${relative(process.cwd(), f.url.replace('file://', ''))}:${f.lineNumber + 1}` : '';
    return `${f.functionName || '(anonymous)'} ${where}`.trim();
  };
  const perFn = new Map<string, { us: number; paths: Map<string, number> }>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const key = label(n);
    const e = perFn.get(key) ?? { us: 0, paths: new Map() };
    e.us += us;
    const chain: string[] = [];
    for (let c = parent.get(id); c !== undefined && chain.length < 4; c = parent.get(c)) {
      chain.push(byId.get(c)!.callFrame.functionName || '(anonymous)');
    }
    const path = chain.join(' < ');
    e.paths.set(path, (e.paths.get(path) ?? 0) + us);
    perFn.set(key, e);
  }
  const rows = [...perFn].sort((a, b) => b[1].us - a[1].us).slice(0, top);
  const lines = [`total sampled: ${(total / 1e6).toFixed(2)} s`];
  for (const [key, e] of rows) {
    const [path] = [...e.paths].sort((a, b) => b[1] - a[1])[0] ?? [''];
    lines.push(`${((e.us / total) * 100).toFixed(1).padStart(5)}%  ${key}${path ? `   <- ${path}` : ''}`);
  }
  return lines.join('\n');
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' } },
  });
  if (positionals.length === 0) {
    console.error('Usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [--top N]');
    process.exit(2);
  }
  for (const file of positionals) {
    console.log(`# ${file}`);
    console.log(summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(values.top) || 25));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
