import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpecViolationError } from './spec-violation.js';
import type { MatchedOperation, SpecRequest } from './swagger2.js';

/** What a fake's route handler receives. */
export interface FakeRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  pathname: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body, or undefined when there was none / it was not JSON. */
  body: unknown;
  rawBody: string;
  /** The described operation the request matched (absent for unvalidated routes). */
  operation?: MatchedOperation;
}

/** What a route handler answers. `body: undefined` sends no body. */
export interface FakeResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One request/response pair, kept for assertions. */
export interface RecordedExchange {
  method: string;
  url: string;
  pathname: string;
  operationId?: string;
  requestBody: unknown;
  status: number;
  responseBody: unknown;
}

/** Anything that can check requests and responses against an API description. */
export interface SpecValidator {
  readonly specName: string;
  validateRequest(request: SpecRequest): MatchedOperation;
  validateResponse(operation: MatchedOperation, status: number, body: unknown): void;
}

/** Options for {@link ValidatingHttpFake}. */
export interface ValidatingHttpFakeOptions {
  /** Label used in messages. */
  name: string;
  validator: SpecValidator;
  handler: (request: FakeRequest) => FakeResponse | Promise<FakeResponse>;
  /** Paths served without validation because they are not part of the description (e.g. `/api/dex/`). */
  unvalidated?: (pathname: string) => boolean;
}

/**
 * An in-process HTTP server on 127.0.0.1:0 that checks EVERY request and response against an API
 * description before and after the route handler runs. A mismatch is recorded in `violations` and
 * answered with 500 (so the code under test fails too); {@link assertNoViolations} turns the record into
 * a loud test failure. Unknown paths are violations, not 404s.
 */
export class ValidatingHttpFake {
  readonly exchanges: RecordedExchange[] = [];
  readonly violations: SpecViolationError[] = [];
  #server?: Server;
  #url = '';

  constructor(private readonly options: ValidatingHttpFakeOptions) {}

  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  get url(): string {
    if (!this.#url) throw new Error(`${this.options.name}: not started`);
    return this.#url;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void this.#handle(
          req.method ?? 'GET',
          req.url ?? '/',
          req.headers,
          Buffer.concat(chunks).toString('utf8'),
        ).then((answer) => {
          const payload = answer.body === undefined ? '' : JSON.stringify(answer.body);
          res.writeHead(answer.status, {
            ...(payload ? { 'content-type': 'application/json' } : {}),
            ...answer.headers,
          });
          res.end(payload);
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Throws one error listing every recorded violation. Call it after each test. */
  assertNoViolations(): void {
    if (this.violations.length === 0) return;
    throw new Error(
      `${this.options.name}: ${this.violations.length} API description violation(s):\n${this.violations.map((v) => v.message).join('\n')}`,
    );
  }

  /** Recorded exchanges for one operation id (e.g. `ApplicationService_Sync`, `issues/create-comment`). */
  calls(operationId: string): RecordedExchange[] {
    return this.exchanges.filter((e) => e.operationId === operationId);
  }

  async #handle(
    method: string,
    url: string,
    headers: IncomingHttpHeaders,
    rawBody: string,
  ): Promise<FakeResponse> {
    const parsed = new URL(url, 'http://fake.invalid');
    const contentType = headers['content-type'];
    let body: unknown;
    if (rawBody !== '' && /json/i.test(contentType ?? '')) {
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = rawBody;
      }
    }
    const request: FakeRequest = {
      method,
      url,
      pathname: parsed.pathname,
      query: parsed.searchParams,
      headers,
      body,
      rawBody,
    };
    const record = (status: number, responseBody: unknown): void => {
      this.exchanges.push({
        method,
        url,
        pathname: parsed.pathname,
        operationId: request.operation?.operationId,
        requestBody: body ?? (rawBody || undefined),
        status,
        responseBody,
      });
    };
    const validated = !this.options.unvalidated?.(parsed.pathname);
    try {
      if (validated) {
        request.operation = this.options.validator.validateRequest({
          method,
          url,
          contentType,
          body: rawBody === '' ? undefined : (body ?? rawBody),
        });
      }
      const answer = await this.options.handler(request);
      if (validated && request.operation) {
        this.options.validator.validateResponse(request.operation, answer.status, answer.body);
      }
      record(answer.status, answer.body);
      return answer;
    } catch (error) {
      const violation =
        error instanceof SpecViolationError
          ? error
          : new SpecViolationError(this.options.validator.specName, 'handler', method, parsed.pathname, [
              `the fake's handler threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
            ]);
      this.violations.push(violation);
      const answer = {
        status: 500,
        body: { error: violation.message, message: violation.message, code: 13 },
      };
      record(answer.status, answer.body);
      return answer;
    }
  }
}
