import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** One span as received over OTLP/HTTP, flattened with its resource attributes. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  resource: Record<string, string | number | boolean>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
}

export interface OtlpReceiver {
  /** http://127.0.0.1:PORT : the value for OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string;
  spans: ReceivedSpan[];
  /** Every export request: path, content type and body size (for diagnosing a silent exporter). */
  requests: { path: string; contentType: string; bytes: number }[];
  /** Requests the receiver could not decode (wrong path or encoding), with why. */
  errors: string[];
  close(): Promise<void>;
}

type OtlpValue = {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
};
type OtlpKeyValue = { key: string; value?: OtlpValue };
interface OtlpJsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  attributes?: OtlpKeyValue[];
  status?: { code?: number };
}
interface OtlpJsonRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: { spans?: OtlpJsonSpan[] }[];
  }[];
}

function flatten(kvs: OtlpKeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of kvs ?? []) {
    if (!value) continue;
    if (value.stringValue !== undefined) out[key] = value.stringValue;
    else if (value.boolValue !== undefined) out[key] = value.boolValue;
    else if (value.intValue !== undefined) out[key] = Number(value.intValue);
    else if (value.doubleValue !== undefined) out[key] = value.doubleValue;
  }
  return out;
}

/** Decodes an OTLP/HTTP JSON ExportTraceServiceRequest (hex ids, as the JS exporter sends). */
export function decodeOtlpJson(body: string): ReceivedSpan[] {
  const req = JSON.parse(body) as OtlpJsonRequest;
  const out: ReceivedSpan[] = [];
  for (const rs of req.resourceSpans ?? []) {
    const resource = flatten(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          name: s.name,
          kind: s.kind ?? 0,
          attributes: flatten(s.attributes),
          resource,
          statusCode: s.status?.code ?? 0,
        });
      }
    }
  }
  return out;
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
  const body = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
}

/**
 * A real OTLP/HTTP trace receiver on 127.0.0.1 (what Jaeger or a collector listens to on 4318):
 * accepts `POST /v1/traces` in the JSON encoding, which @opentelemetry/exporter-trace-otlp-http
 * sends, and keeps the decoded spans. Protobuf bodies are answered 415 and recorded in `errors`
 * (use exporter-trace-otlp-proto against a real collector instead).
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests: OtlpReceiver['requests'] = [];
  const errors: string[] = [];
  const server = createServer((req, res) => {
    const contentType = String(req.headers['content-type'] ?? '');
    readAll(req).then(
      (body) => {
        requests.push({ path: req.url ?? '', contentType, bytes: body.length });
        if (req.method !== 'POST' || req.url !== '/v1/traces') {
          errors.push(`unexpected ${req.method} ${req.url}`);
          res.writeHead(404).end();
          return;
        }
        if (!contentType.startsWith('application/json')) {
          errors.push(`unsupported content-type ${contentType}`);
          res.writeHead(415).end();
          return;
        }
        try {
          spans.push(...decodeOtlpJson(body.toString('utf8')));
        } catch (err) {
          errors.push(`undecodable body: ${(err as Error).message}`);
          res.writeHead(400).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      },
      (err: Error) => {
        errors.push(`read failed: ${err.message}`);
        res.writeHead(400).end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    requests,
    errors,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
