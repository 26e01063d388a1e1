/** Facts about the machine a run used, and how busy it was: other work skews every figure. */
import { $ } from 'zx';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineFacts {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  openFilesLimit: string;
  /** 1-minute load average when the run started and ended. */
  loadAverage: { start: number; end: number };
  /**
   * CPU pressure (Linux PSI `some avg60`, % of time runnable tasks waited for a CPU) over the minute
   * before the run started and ended; null where /proc/pressure is missing.
   */
  cpuPressure: { start: number | null; end: number | null };
}

/** Linux PSI: % of the last 60 s in which some runnable task waited for a CPU. */
export function cpuPressure(): number | null {
  try {
    const m = /some avg10=[\d.]+ avg60=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export function machineFacts(): MachineFacts {
  let openFilesLimit = 'unknown';
  try {
    openFilesLimit = $.sync`ulimit -n`.stdout.trim();
  } catch {
    /* not a POSIX shell */
  }
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    openFilesLimit,
    loadAverage: { start: os.loadavg()[0]!, end: os.loadavg()[0]! },
    cpuPressure: { start: cpuPressure(), end: null },
  };
}

/** Marks the end of the run in `m`. */
export function finishMachineFacts(m: MachineFacts): void {
  m.loadAverage.end = os.loadavg()[0]!;
  m.cpuPressure.end = cpuPressure();
}
