// Everything the rehearsal starts registers how to stop it here, so one call stops it all in
// reverse order -- at the end of a run, on an error, and on Ctrl-C (SIGINT) or SIGTERM. A last pass
// kills whatever process is still a descendant of this one (found by pid in /proc, never by name),
// e.g. a buildah that was mid-build when the signal came.
import { readdirSync, readFileSync } from 'node:fs';
import { $ } from '../zx.js';

/** One thing to stop: what it is (for the log) and how. */
interface Entry {
  name: string;
  stop: () => Promise<unknown>;
}

/** The pids of every live descendant of `root` (children first-level first), read from /proc. */
export function descendantPids(root = process.pid): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 is the parent pid; the command (field 2) may contain spaces, so parse after ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // The process exited while we looked.
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return state.slice(state.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** A stack of stop functions, run last-in first-out, each bounded in time. */
export class Teardown {
  private readonly entries: Entry[] = [];
  private running: Promise<void> | undefined;

  /**
   * `killStrays`: after the stops, kill leftover descendant processes. Only for a process that owns
   * its children (the rehearsal script), never inside a test runner.
   */
  constructor(
    private readonly log: (line: string) => void = () => {},
    private readonly killStrays = false,
  ) {}

  /** Registers `stop` for `name`; returns a function that runs and unregisters it early. */
  add(name: string, stop: () => Promise<unknown>): () => Promise<void> {
    const entry = { name, stop };
    this.entries.push(entry);
    return async () => {
      const i = this.entries.indexOf(entry);
      if (i < 0) return;
      this.entries.splice(i, 1);
      await entry.stop();
    };
  }

  get size(): number {
    return this.entries.length;
  }

  /**
   * Stops everything (once; later calls wait for the same run). Each stop gets `perEntryMs`; a
   * failure is logged and the rest still run. Then leftover descendant processes get SIGTERM and,
   * a second later, SIGKILL.
   */
  run(perEntryMs = 30_000): Promise<void> {
    this.running ??= (async () => {
      while (this.entries.length > 0) {
        const entry = this.entries.pop()!;
        const started = Date.now();
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            entry.stop(),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error(`did not stop within ${perEntryMs} ms`)), perEntryMs);
            }),
          ]);
          this.log(`stopped ${entry.name} (${Date.now() - started} ms)`);
        } catch (err) {
          this.log(`stopping ${entry.name} failed: ${err instanceof Error ? err.message : String(err)}`);
        } finally {
          clearTimeout(timer);
        }
      }
      if (this.killStrays) await killDescendants(this.log);
    })();
    return this.running;
  }
}

/**
 * SIGKILLs every descendant now, without yielding to the event loop: no code of this process can
 * start another child between the look and the kill (the second Ctrl-C, and the last step before
 * exit). The whole tree is read before any kill, so a grandchild is killed by pid even after its
 * parent died and it was re-parented. A few rounds catch what forked while we looked.
 */
export function killDescendantsNow(): number[] {
  const killed: number[] = [];
  for (let round = 0; round < 5; round++) {
    const left = descendantPids().filter(alive);
    if (left.length === 0) break;
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.push(pid);
      } catch {
        // gone already
      }
    }
  }
  return killed;
}

/**
 * Removes this run's containers (podman labels them with the run id), synchronously for the same
 * reason; conmon is not our descendant, so killing processes does not stop a container.
 */
export function removeContainersNow(runId: string): void {
  const label = `label=io.switchboard.rehearsal=${runId}`;
  void $({ sync: true, nothrow: true, quiet: true })`podman rm --force --time 0 --filter ${label}`;
}

/** SIGTERM every remaining descendant, SIGKILL those still there after `graceMs`. */
export async function killDescendants(log: (line: string) => void = () => {}, graceMs = 1000): Promise<void> {
  const left = descendantPids().filter(alive);
  if (left.length === 0) return;
  const names = left.map((pid) => {
    try {
      return `${pid} (${readFileSync(`/proc/${pid}/comm`, 'utf8').trim()})`;
    } catch {
      return String(pid);
    }
  });
  log(`terminating ${left.length} leftover child process(es): ${names.join(', ')}`);
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone already
    }
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && left.some(alive)) await new Promise((r) => setTimeout(r, 50));
  for (const pid of left.filter(alive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}
