import { parseManifests, validateObjects, type K8sObject } from '../../../pipeline/src/validate/index.js';

/** One problem the validation found (pipeline/src/validate's Problem). */
export interface ValidationProblem {
  target: string;
  object: string;
  field: string;
  message: string;
  check: string;
}

/**
 * Runs the project's validation (pipeline/src/validate, the library `npm run validate` uses: schemas,
 * unknown fields, review policies) on the rendered files (one YAML per object) and returns its problems.
 * It is bundled into dist/ with the model schemas it needs, so it runs from any repository's workflow.
 */
export async function validateRendered(
  files: Map<string, string>,
  target: string,
  requireDigests: boolean,
): Promise<{ objects: number; problems: ValidationProblem[] }> {
  const objects: K8sObject[] = [];
  for (const name of [...files.keys()].filter((f) => /\.ya?ml$/.test(f)).sort()) {
    objects.push(...parseManifests(files.get(name) ?? '', name));
  }
  const problems = await validateObjects({ target, objects, requireDigests });
  return { objects: objects.length, problems };
}
