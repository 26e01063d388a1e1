/**
 * The highest sustained rate: start at the workload's rate, double while steps pass, then bisect
 * (geometric mean) between the best pass and the lowest step that did not pass until they are
 * within `precision` of each other or `maxSteps` ran. A flagged step (generator too busy) cannot be
 * the best and caps the search: above it, the harness could not tell.
 */
import { describeStep, runStep, type StepContext, type StepOptions, type StepResult } from './step.js';

export interface SearchOptions extends StepOptions {
  maxSteps: number;
  precision: number;
}

export interface SearchResult {
  best: StepResult | null;
  steps: StepResult[];
  /** The search stopped at a flagged step: the server may sustain more than `best`. */
  generatorLimited: boolean;
}

export async function searchRate(
  ctx: StepContext,
  o: SearchOptions,
  startRate: number,
): Promise<SearchResult> {
  const minRate = 1000 / o.stepMs; // at least one publication per step
  let rate = Math.max(minRate, startRate);
  const steps: StepResult[] = [];
  let best: StepResult | null = null;
  let ceiling: StepResult | null = null;
  while (steps.length < o.maxSteps) {
    const r = await runStep(ctx, o, rate);
    steps.push(r);
    ctx.log(describeStep(r));
    if (r.pass && (!best || r.ratePerTopic > best.ratePerTopic)) best = r;
    if (!r.pass && (!ceiling || r.ratePerTopic < ceiling.ratePerTopic)) ceiling = r;
    if (best && ceiling) {
      if (ceiling.ratePerTopic / best.ratePerTopic <= o.precision) break;
      rate = Math.sqrt(best.ratePerTopic * ceiling.ratePerTopic);
    } else if (best) rate = best.ratePerTopic * 2;
    else {
      rate = rate / 2;
      if (rate < minRate) break;
    }
  }
  return { best, steps, generatorLimited: ceiling?.generatorSaturated ?? false };
}
