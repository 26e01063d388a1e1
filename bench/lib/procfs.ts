/** Server-side measurements read from /proc (Linux): CPU time and resident memory of a process. */
import { $ } from 'zx';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  clockTicks ??= Number($.sync`getconf CLK_TCK`.stdout.trim()) || 100;
  return clockTicks;
}

const SUM_EXEC = /^se\.sum_exec_runtime\s*:\s*([\d.]+)/m;

/**
 * CPU time the threads of a process have run so far, in seconds, to the microsecond: the sum of each
 * thread's `se.sum_exec_runtime` (ms) in /proc/<pid>/task/<tid>/sched. The clock-tick counters of
 * /proc/<pid>/stat move in 10 ms steps, too coarse for µs per delivery over a short step. A thread
 * that ended between two readings drops out of the sum; a server's threads live as long as it does.
 */
function schedSeconds(pid: number): number | null {
  let ms = 0;
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  for (const tid of tasks) {
    try {
      const m = SUM_EXEC.exec(readFileSync(`/proc/${pid}/task/${tid}/sched`, 'utf8'));
      if (!m) return null;
      ms += Number(m[1]);
    } catch {
      /* thread ended meanwhile */
    }
  }
  return ms / 1000;
}

let preciseCpu: boolean | undefined;

/**
 * CPU time (user + system) this one process has used so far, in seconds; a server that forks workers
 * (WORKERS=N) is read with treeCpuSeconds. Not recursive: the bench's own process has the servers it
 * started as children.
 */
export function cpuSeconds(pid: number): number {
  preciseCpu ??= schedSeconds(process.pid) !== null;
  if (preciseCpu) {
    const s = schedSeconds(pid);
    if (s !== null) return s;
  }
  return tickSeconds(pid);
}

function tickSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

/**
 * `pid` and every process below it (children, their children...), from /proc/<pid>/task/<tid>/children:
 * a server that forks workers (Switchboard with WORKERS=N) is measured as the whole tree.
 */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number) => {
    out.push(p);
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return; // exited meanwhile
    }
    for (const tid of tasks) {
      try {
        const text = readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').trim();
        for (const c of text ? text.split(' ') : []) visit(Number(c));
      } catch {
        /* thread ended meanwhile, or a kernel without the children file */
      }
    }
  };
  visit(pid);
  return out;
}

/** `read` summed over `pid` and its descendants (see processTree); a process that exited drops out. */
function sumOverTree(pid: number, read: (pid: number) => number): number {
  let sum = 0;
  for (const p of processTree(pid)) {
    try {
      sum += read(p);
    } catch {
      /* exited meanwhile */
    }
  }
  return sum;
}

/** CPU seconds of `pid` and its descendants. */
export const treeCpuSeconds = (pid: number): number => sumOverTree(pid, cpuSeconds);

/** Resident set size (VmRSS) in bytes of `pid` and its descendants. */
export const treeRssBytes = (pid: number): number => sumOverTree(pid, rssBytes);

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
  /** `read`: treeCpuSeconds to count the process's descendants too (a server with worker processes). */
  constructor(
    private readonly pid: number,
    private readonly read: (pid: number) => number = cpuSeconds,
  ) {
    this.cpu0 = read(pid);
  }
  /** % of one core since construction. */
  percent(): number {
    const wall = (performance.now() - this.wall0) / 1000;
    return wall > 0 ? ((this.read(this.pid) - this.cpu0) / wall) * 100 : 0;
  }
}

/** CPU time all processes on the machine used so far (user+nice+system+irq+softirq+steal), in seconds. */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (
    ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) /
    ticksPerSecond()
  );
}

/**
 * CPU used by processes other than `ours` over an interval, in % of one core: how much the
 * benchmark competed with other work on a shared machine.
 */
export class ForeignCpuMeter {
  private readonly busy0 = machineBusySeconds();
  private readonly ours: CpuMeter[];
  private readonly wall0 = performance.now();
  constructor(ourPids: number[]) {
    this.ours = ourPids.map((p) => new CpuMeter(p));
  }
  percent(): number {
    const wall = (performance.now() - this.wall0) / 1000;
    if (wall <= 0) return 0;
    const all = ((machineBusySeconds() - this.busy0) / wall) * 100;
    const ours = this.ours.reduce((s, m) => s + m.percent(), 0);
    return Math.max(0, all - ours);
  }
}

/** Pid of the process listening on a loopback TCP port, found through /proc (null if none). */
export function pidListeningOn(port: number): number | null {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const row of text.split('\n').slice(1)) {
      const f = row.trim().split(/\s+/);
      // local_address is ADDR:PORT; state 0A is LISTEN; field 9 is the socket inode.
      if (f[1]?.endsWith(`:${hex}`) && f[3] === '0A' && f[9]) inodes.add(f[9]);
    }
  }
  if (inodes.size === 0) return null;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return Number(pid);
      } catch {
        /* fd closed meanwhile */
      }
    }
  }
  return null;
}
