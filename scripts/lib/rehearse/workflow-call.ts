// What a job of a called workflow sees (docs/reusable-workflows.md): `inputs` are the caller's `with:`
// evaluated in the caller's contexts and converted to the declared types, defaults for the rest;
// `secrets` are only those the caller passes (or all of its own with `secrets: inherit`), plus
// GITHUB_TOKEN; `env` is the called workflow's own. The caller's job ends with the called workflow's
// outputs, evaluated over the `jobs` context.
import { interpolate, type Contexts, type WorkflowCall } from './workflow.js';

/** The input values of `call`, typed as declared; throws naming an undeclared or missing input. */
export function callInputs(call: WorkflowCall, callerContexts: Contexts): Record<string, unknown> {
  const where = `job ${call.id} calls ${call.path}`;
  for (const name of Object.keys(call.with)) {
    if (!(name in call.inputs))
      throw new Error(
        `${where} with input "${name}", which it does not declare (it declares ${Object.keys(call.inputs).join(', ') || 'none'})`,
      );
  }
  const out: Record<string, unknown> = {};
  for (const [name, input] of Object.entries(call.inputs)) {
    const raw = name in call.with ? call.with[name] : input.default;
    if (raw === undefined && input.required) throw new Error(`${where} without its required input "${name}"`);
    const text =
      raw === undefined || raw === null
        ? ''
        : typeof raw === 'string'
          ? interpolate(raw, callerContexts)
          : String(raw);
    if (input.type === 'boolean') out[name] = text === 'true';
    else if (input.type === 'number') {
      const n = text === '' ? 0 : Number(text);
      if (!Number.isFinite(n)) throw new Error(`${where}: input "${name}" is a number, got "${text}"`);
      out[name] = n;
    } else out[name] = text;
  }
  return out;
}

/** The `secrets` context of the called workflow's jobs. */
export function callSecrets(call: WorkflowCall, callerContexts: Contexts): Record<string, string> {
  const own = (callerContexts.secrets ?? {}) as Record<string, string>;
  if (call.secrets === 'inherit') return { ...own };
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(call.secrets)) out[name] = interpolate(value, callerContexts);
  if (own.GITHUB_TOKEN !== undefined) out.GITHUB_TOKEN = own.GITHUB_TOKEN;
  return out;
}

/** The result of the caller's job: failed if a called job failed, skipped if all were skipped. */
export function callResult(results: string[]): 'success' | 'failure' | 'skipped' {
  if (results.includes('failure')) return 'failure';
  return results.every((r) => r === 'skipped') ? 'skipped' : 'success';
}

/** The called workflow's outputs, from its jobs' records. */
export function callOutputs(
  call: WorkflowCall,
  jobs: Record<string, { result: string; outputs: Record<string, string> }>,
  contexts: Contexts,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(call.outputs)) {
    try {
      out[name] = interpolate(value, { ...contexts, jobs });
    } catch {
      out[name] = '';
    }
  }
  return out;
}
