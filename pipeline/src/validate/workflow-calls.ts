// The workflows as the policies read them: a job that calls a reusable workflow of the repository
// (`uses: ./.github/workflows/<file>`) is replaced by the called jobs, with each whole
// `${{ inputs.<name> }}` replaced by what the caller passes (a value, or its own expression) or the
// input's default, and the called
// workflow's env on each job. A reusable workflow some caller calls is read only through its callers:
// its own text says `${{ inputs.x }}` where the caller says what x is.
import { parse, stringify } from 'yaml';

interface Doc {
  on?: unknown;
  env?: Record<string, unknown>;
  jobs?: Record<string, Record<string, unknown>>;
}

const LOCAL_CALL = /^\.\/\.github\/workflows\/([^/]+\.ya?ml)$/;

/** What a calling job passes for each input, over the defaults, as text. */
function plainInputs(declared: Record<string, { default?: unknown }>, given: Record<string, unknown>) {
  const out = new Map<string, string>();
  for (const [name, input] of Object.entries(declared)) {
    const value = name in given ? given[name] : input.default;
    if (value === undefined || value === null) continue;
    out.set(name, String(value));
  }
  return out;
}

/** `workflows` (file name -> text) with every local call inlined; see the file comment. */
export function inlineCalls(workflows: Map<string, string>): Map<string, string> {
  const docs = new Map([...workflows].map(([f, t]) => [f, (parse(t) ?? {}) as Doc]));
  const called = new Set<string>();
  const out = new Map<string, string>();
  for (const [file, doc] of docs) {
    let changed = false;
    const jobs: Record<string, unknown> = {};
    for (const [id, job] of Object.entries(doc.jobs ?? {})) {
      const target = LOCAL_CALL.exec(String(job.uses ?? ''))?.[1];
      const text = target ? workflows.get(target) : undefined;
      if (!target || text === undefined) {
        jobs[id] = job;
        continue;
      }
      called.add(target);
      changed = true;
      const declared =
        (docs.get(target)?.on as { workflow_call?: { inputs?: Record<string, { default?: unknown }> } })
          ?.workflow_call?.inputs ?? {};
      const values = plainInputs(declared, (job.with as Record<string, unknown>) ?? {});
      const resolved = text.replace(/\$\{\{\s*inputs\.([\w-]+)\s*\}\}/g, (whole, name: string) =>
        values.has(name) ? values.get(name)! : whole,
      );
      const inner = (parse(resolved) ?? {}) as Doc;
      for (const [innerId, innerJob] of Object.entries(inner.jobs ?? {}))
        jobs[innerId] = { ...innerJob, env: { ...(inner.env ?? {}), ...((innerJob.env as object) ?? {}) } };
    }
    out.set(file, changed ? stringify({ ...doc, jobs }) : workflows.get(file)!);
  }
  for (const f of called) out.delete(f);
  return out;
}
