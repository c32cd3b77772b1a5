import {
  context,
  propagation,
  trace,
  type Context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
  type Link,
  type Attributes,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

/** Options of `startTelemetry`. Every field has a default; environment variables are the OTel standard ones. */
export interface TelemetryOptions {
  /** `service.name` resource attribute, e.g. `coordinator` or `agent:fetcher-1`. Required. */
  serviceName: string;
  /** `service.version`. Default: `SWARM_VERSION` or `0.1.0`. */
  serviceVersion?: string;
  /**
   * OTLP/HTTP base endpoint (`http://jaeger:4318`). Default: `OTEL_EXPORTER_OTLP_ENDPOINT`.
   * When neither this nor `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, spans are still
   * created (trace ids reach logs and task records) but not exported.
   */
  otlpEndpoint?: string;
  /** Extra exporter (tests pass an InMemorySpanExporter). Exported synchronously on span end. */
  exporter?: SpanExporter;
  /** Instrument incoming/outgoing HTTP. Default true. */
  instrumentHttp?: boolean;
  /** Disable everything (`OTEL_SDK_DISABLED=true` does the same). Default false. */
  disabled?: boolean;
}

export interface TelemetryHandle {
  readonly enabled: boolean;
  readonly exporting: string | null;
  shutdown(): Promise<void>;
}

let active: TelemetryHandle | null = null;

const NOOP_PROCESSOR: SpanProcessor = {
  onStart: () => {},
  onEnd: () => {},
  forceFlush: async () => {},
  shutdown: async () => {},
};

/**
 * Starts the OpenTelemetry SDK. Call it before importing NestJS or http so instrumentation
 * can patch them. Start-up never fails because a collector is absent: export errors are
 * dropped by the batch processor. Idempotent: a second call returns the first handle.
 */
export function startTelemetry(options: TelemetryOptions): TelemetryHandle {
  if (active) return active;
  const env = process.env;
  const disabled = options.disabled ?? env.OTEL_SDK_DISABLED === 'true';
  if (disabled) {
    active = { enabled: false, exporting: null, shutdown: async () => {} };
    return active;
  }
  const processors: SpanProcessor[] = [];
  const endpoint = options.otlpEndpoint ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (endpoint ? `${endpoint.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (tracesEndpoint) {
    processors.push(
      new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesEndpoint, timeoutMillis: 5_000 }), {
        maxQueueSize: 8192,
        maxExportBatchSize: 1024,
        scheduledDelayMillis: 500,
      }),
    );
  }
  if (options.exporter) processors.push(new SimpleSpanProcessor(options.exporter));
  // Without a processor NodeSDK registers no tracer provider at all, and trace ids would vanish
  // from tasks and logs; spans are still created, just not exported.
  if (processors.length === 0) processors.push(NOOP_PROCESSOR);
  // Metrics go to Prometheus (/metrics) and logs to stdout; stop the SDK from exporting its own.
  env.OTEL_METRICS_EXPORTER ??= 'none';
  env.OTEL_LOGS_EXPORTER ??= 'none';
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      [ATTR_SERVICE_VERSION]: options.serviceVersion ?? env.SWARM_VERSION ?? '0.1.0',
    }),
    spanProcessors: processors,
    instrumentations:
      options.instrumentHttp === false
        ? []
        : [
            new HttpInstrumentation({
              ignoreIncomingRequestHook: (req) => {
                const url = req.url ?? '';
                return url === '/metrics' || url === '/health' || url.startsWith('/health/');
              },
            }),
          ],
  });
  sdk.start();
  let stopped = false;
  active = {
    enabled: true,
    exporting: tracesEndpoint ?? null,
    shutdown: async () => {
      if (stopped) return;
      stopped = true;
      try {
        await sdk.shutdown();
      } catch {
        // exporting the last batch may fail when the collector is gone; nothing to do
      }
    },
  };
  return active;
}

/** The tracer every mesh component uses. */
export function meshTracer(): Tracer {
  return trace.getTracer('swarm-mesh', '0.1.0');
}

/** Trace id of the active span, or undefined. */
export function currentTraceId(ctx: Context = context.active()): string | undefined {
  const sc = trace.getSpanContext(ctx);
  return sc && sc.traceId !== '00000000000000000000000000000000' ? sc.traceId : undefined;
}

/** Span id of the active span, or undefined. */
export function currentSpanId(ctx: Context = context.active()): string | undefined {
  return trace.getSpanContext(ctx)?.spanId;
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  links?: Link[];
  /** Parent context; default the active one. */
  parent?: Context;
}

/** Runs `fn` inside a new active span; records exceptions and ends the span. */
export async function withSpan<T>(name: string, opts: SpanOptions, fn: (span: Span) => Promise<T> | T): Promise<T> {
  const parent = opts.parent ?? context.active();
  const span = meshTracer().startSpan(
    name,
    { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes, links: opts.links },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    recordError(span, err);
    throw err;
  } finally {
    span.end();
  }
}

/** Marks a span as failed with the error's code and message. */
export function recordError(span: Span, err: unknown): void {
  const e = err as { code?: unknown; message?: unknown };
  span.setStatus({ code: SpanStatusCode.ERROR, message: typeof e?.message === 'string' ? e.message : String(err) });
  if (typeof e?.code === 'string') span.setAttribute('swarm.error.code', e.code);
  if (err instanceof Error) span.recordException(err);
}

/** Injects W3C trace context of `ctx` into any header carrier. */
export function injectContext<C>(carrier: C, setter: TextMapSetter<C>, ctx: Context = context.active()): void {
  propagation.inject(ctx, carrier, setter);
}

/** Extracts W3C trace context from any header carrier (root context when absent). */
export function extractContext<C>(carrier: C, getter: TextMapGetter<C>): Context {
  return propagation.extract(context.active(), carrier, getter);
}

/** Serialises the context to a `traceparent` string (for storing with a task), or undefined. */
export function toTraceparent(ctx: Context = context.active()): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent;
}

/** Rebuilds a context from a stored `traceparent`. */
export function fromTraceparent(traceparent: string | undefined | null): Context {
  if (!traceparent) return context.active();
  return propagation.extract(context.active(), { traceparent });
}

/** Trace id embedded in a traceparent string. */
export function traceIdOf(traceparent: string | undefined | null): string | undefined {
  if (!traceparent) return undefined;
  const parts = traceparent.split('-');
  return parts.length >= 4 ? parts[1] : undefined;
}

export { SpanKind, SpanStatusCode, context, trace, propagation };
export type { Span, Context, Link, Attributes, SpanExporter };
