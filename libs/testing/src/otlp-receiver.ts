import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync, inflateSync } from 'node:zlib';

/** One received span, flattened. Ids are lowercase hex; `kind` follows OTLP (1 internal, 2 server, 3 client, 4 producer, 5 consumer). */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty string for a root span. */
  parentSpanId: string;
  name: string;
  kind: number;
  /** The `service.name` resource attribute. */
  serviceName: string;
  attributes: Record<string, unknown>;
  /** Start and end in nanoseconds since the epoch (as strings: they exceed 2^53). */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
}

/** An in-process OTLP/HTTP JSON trace receiver (what services export to in tests). */
export interface OtlpReceiver {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT (`http://127.0.0.1:<port>`); spans go to `/v1/traces`. */
  readonly url: string;
  spans(): ReceivedSpan[];
  byTrace(traceId: string): ReceivedSpan[];
  /** Number of export requests that could not be decoded. */
  rejected(): number;
  clear(): void;
  close(): Promise<void>;
}

/** OTLP/JSON ids are hex per the spec; older exporters sent base64. Both become lowercase hex. */
export function normaliseId(id: unknown): string {
  if (typeof id !== 'string' || id === '') return '';
  if (/^[0-9a-fA-F]+$/.test(id) && (id.length === 32 || id.length === 16)) return id.toLowerCase();
  return Buffer.from(id, 'base64').toString('hex');
}

interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  bytesValue?: string;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}

function fromAnyValue(v: AnyValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.bytesValue !== undefined) return v.bytesValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(fromAnyValue);
  if (v.kvlistValue) return attributesOf(v.kvlistValue.values);
  return undefined;
}

function attributesOf(kvs: KeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of kvs ?? []) out[kv.key] = fromAnyValue(kv.value);
  return out;
}

interface OtlpSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: number;
  attributes?: KeyValue[];
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  status?: { code?: number };
}
interface ExportRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{ spans?: OtlpSpan[] }>;
  }>;
}

/** Flattens an OTLP ExportTraceServiceRequest (JSON encoding). */
export function flattenExportRequest(req: ExportRequest): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of req.resourceSpans ?? []) {
    const resource = attributesOf(rs.resource?.attributes);
    const serviceName = typeof resource['service.name'] === 'string' ? resource['service.name'] : '';
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: normaliseId(s.traceId),
          spanId: normaliseId(s.spanId),
          parentSpanId: normaliseId(s.parentSpanId),
          name: s.name ?? '',
          kind: s.kind ?? 0,
          serviceName,
          attributes: attributesOf(s.attributes),
          startTimeUnixNano: String(s.startTimeUnixNano ?? '0'),
          endTimeUnixNano: String(s.endTimeUnixNano ?? '0'),
          statusCode: s.status?.code ?? 0,
        });
      }
    }
  }
  return out;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Starts an HTTP server on 127.0.0.1 (port 0) that accepts OTLP/HTTP JSON exports on
 * `/v1/traces` (gzip/deflate bodies too) and keeps the spans in memory. Protobuf exports
 * are answered 415 and counted in `rejected()`.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  let received: ReceivedSpan[] = [];
  let rejected = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || path !== '/v1/traces') {
      res.writeHead(404).end();
      return;
    }
    let body = await readBody(req);
    const encoding = String(req.headers['content-encoding'] ?? '').toLowerCase();
    const type = String(req.headers['content-type'] ?? '').toLowerCase();
    try {
      if (encoding === 'gzip') body = gunzipSync(body);
      else if (encoding === 'deflate') body = inflateSync(body);
      if (type && !type.includes('json')) {
        rejected++;
        res.writeHead(415, { 'content-type': 'application/json' }).end('{"message":"only OTLP/JSON is supported"}');
        return;
      }
      received = received.concat(flattenExportRequest(JSON.parse(body.toString('utf8')) as ExportRequest));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    } catch (err) {
      rejected++;
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ message: (err as Error).message }));
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => [...received],
    byTrace: (traceId) => received.filter((s) => s.traceId === traceId.toLowerCase()),
    rejected: () => rejected,
    clear: () => {
      received = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
