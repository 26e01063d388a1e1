/** Server-side measurements read from /proc (Linux): CPU time and resident memory of a process. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  return clockTicks;
}

/** CPU time (user + system) the process has used so far, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

/** Resident set size (VmRSS) in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** Measures a process's CPU use over an interval, in % of one core. */
export class CpuMeter {
  private cpu0: number;
  private wall0 = performance.now();
  constructor(private readonly pid: number) {
    this.cpu0 = cpuSeconds(pid);
  }
  /** % of one core since construction. */
  percent(): number {
    const wall = (performance.now() - this.wall0) / 1000;
    return wall > 0 ? ((cpuSeconds(this.pid) - this.cpu0) / wall) * 100 : 0;
  }
}
