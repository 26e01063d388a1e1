/**
 * The opening and ending every side benchmark (bench/longpoll.ts, bench/join-hook.ts) shares: parse the
 * flags (exit 2 with the usage on a bad one), pin this process to the generator's CPUs, note the CPU
 * pressure at the start, run, and exit with the body's code.
 */
import { pin, planCpus, type CpuPlan } from './cpus.js';
import { cpuPressure } from './machine.js';

export interface SideBenchContext {
  plan: CpuPlan;
  /** The CPU's PSI avg60 at the start and now (null where the kernel has none), for the raw results. */
  pressure(): { start: number | null; end: number | null };
  /** "CPU pressure (PSI avg60) start -> now", for the table's footnote. */
  pressureNote(): string;
}

export function runSideBench<O>(
  parseArgs: (argv: string[]) => O | 'help',
  usage: () => string,
  body: (options: O, context: SideBenchContext) => Promise<number>,
): void {
  const main = async (): Promise<number> => {
    let options: O | 'help';
    try {
      options = parseArgs(process.argv.slice(2));
    } catch (err) {
      console.error(`${(err as Error).message}\n${usage()}`);
      return 2;
    }
    if (options === 'help') {
      console.log(usage());
      return 0;
    }
    const plan = planCpus();
    pin(process.pid, plan.generator);
    const start = cpuPressure();
    const pressure = () => ({ start, end: cpuPressure() });
    const pressureNote = () => `CPU pressure (PSI avg60) ${start ?? '-'} -> ${cpuPressure() ?? '-'}`;
    return body(options, { plan, pressure, pressureNote });
  };
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
