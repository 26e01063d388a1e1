/**
 * Keeps the servers and the load generator off each other's cores with `taskset` (util-linux):
 * a server that frees CPU must not thereby speed up its own load generator, and a busy generator
 * must not slow the server it measures.
 */
import { $ } from 'zx';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** CPU lists in taskset's syntax ("0", "1-3"); `pinned` false when the run was told not to pin. */
export interface CpuPlan {
  pinned: boolean;
  server: string;
  generator: string;
  serverCores: number;
  generatorCores: number;
}

/** Throws a message with the fix when `taskset` cannot run. */
export function checkTaskset(): void {
  try {
    void $.sync`taskset --version`;
  } catch {
    throw new Error(
      'taskset not found: install util-linux (apt-get install util-linux), or run with --no-pin',
    );
  }
}

/**
 * Splits the CPUs this process may use: the first `serverCores` (default: half, at least one) for
 * servers, the rest for load generators and the orchestrator.
 */
export function planCpus(allowed: number[] = allowedCpus(process.pid), serverCores?: number): CpuPlan {
  if (allowed.length < 2) {
    throw new Error(
      `only ${allowed.length} CPU available: the fair run needs 2 (servers and generators apart); use --no-pin to measure anyway`,
    );
  }
  const n = serverCores ?? Math.max(1, Math.floor(allowed.length / 2));
  if (n < 1 || n >= allowed.length) {
    throw new Error(`--server-cores must be between 1 and ${allowed.length - 1}, got ${n}`);
  }
  return {
    pinned: true,
    server: allowed.slice(0, n).join(','),
    generator: allowed.slice(n).join(','),
    serverCores: n,
    generatorCores: allowed.length - n,
  };
}

/** No pinning: everything shares every CPU (the old, unfair set-up; flagged in the report). */
export function unpinnedPlan(): CpuPlan {
  const all = allowedCpus(process.pid);
  const list = all.join(',');
  return {
    pinned: false,
    server: list,
    generator: list,
    serverCores: all.length,
    generatorCores: all.length,
  };
}

/** Pins every thread of `pid` (threads it starts later inherit it) to `cpus`. */
export function pin(pid: number, cpus: string): void {
  void $.sync`taskset -a -c -p ${cpus} ${String(pid)}`;
}

/** The CPUs a process may run on, from /proc/<pid>/status. */
export function allowedCpus(pid: number): number[] {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(status);
  if (!m) return os.cpus().map((_, i) => i);
  return parseCpuList(m[1]!);
}

/** CPUs of every thread of `pid`, as taskset lists ("1"), one entry per distinct list. */
export function threadAffinities(pid: number): string[] {
  const lists = new Set<string>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
      if (m) lists.add(parseCpuList(m[1]!).join(','));
    } catch {
      /* thread ended meanwhile */
    }
  }
  return [...lists];
}

/** "0-2,5" -> [0, 1, 2, 5] */
export function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    for (let c = a; c <= (b ?? a); c++) out.push(c);
  }
  return out;
}
