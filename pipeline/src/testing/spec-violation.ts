/** Thrown (and recorded by the fakes) when a request or response does not match the API description. */
export class SpecViolationError extends Error {
  override readonly name = 'SpecViolationError';
  readonly code = 'SPEC_VIOLATION';
  constructor(
    /** Which description: `argocd-swagger.json` or `@octokit/openapi api.github.com`. */
    readonly spec: string,
    /** `request` or `response 200` etc. */
    readonly direction: string,
    readonly method: string,
    readonly path: string,
    /** One line per problem, JSON-pointer first: `/revison: must NOT have additional properties`. */
    readonly problems: string[],
  ) {
    super(
      `${spec}: ${method} ${path}: ${direction} does not match the API description:\n  - ${problems.join('\n  - ')}`,
    );
  }
}
