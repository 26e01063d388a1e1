// Progress output: "step N/M <name>" when a step starts, its duration when it ends, and the
// timings of every step for the summary.

/** One finished (or failed) step. */
export interface StepTiming {
  index: number;
  name: string;
  /** What the workflow step is called in deploy.yml (or what stands in for it). */
  workflowStep: string;
  ms: number;
  outcome: 'ok' | 'failed' | 'skipped';
  detail?: string;
}

/** Formats milliseconds as `12.3 s` or `2 min 05 s`. */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** Runs named steps in order, printing progress with timings. */
export class Progress {
  readonly timings: StepTiming[] = [];
  private index = 0;
  private readonly started = Date.now();

  constructor(
    private readonly total: number,
    private readonly print: (line: string) => void,
  ) {}

  /** Continues the numbering at `n` (after steps numbered elsewhere, e.g. the workflow's jobs). */
  continueAt(n: number): void {
    this.index = n - 1;
  }

  /** Elapsed since the rehearsal started. */
  get elapsedMs(): number {
    return Date.now() - this.started;
  }

  /** A line inside the current step (indented under its header). */
  log(line: string): void {
    this.print(`         ${line}`);
  }

  /** Runs `fn` as step N of M; the result's `detail` (if any) is printed with the timing. */
  async step<T>(
    name: string,
    workflowStep: string,
    fn: () => Promise<T>,
    detail?: (value: T) => string,
  ): Promise<T> {
    const index = ++this.index;
    const t0 = Date.now();
    this.print(`[${index}/${this.total}] ${name} ...`);
    try {
      const value = await fn();
      const ms = Date.now() - t0;
      const d = detail?.(value);
      this.print(`[${index}/${this.total}] ${name}: done in ${formatDuration(ms)}${d ? ` -- ${d}` : ''}`);
      this.timings.push({ index, name, workflowStep, ms, outcome: 'ok', ...(d ? { detail: d } : {}) });
      return value;
    } catch (err) {
      const ms = Date.now() - t0;
      const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
      this.print(`[${index}/${this.total}] ${name}: FAILED after ${formatDuration(ms)}`);
      this.timings.push({ index, name, workflowStep, ms, outcome: 'failed', detail: message });
      throw err;
    }
  }
}
