import { context, currentTraceId, meshTracer, type Span, SpanKind, SpanStatusCode, trace } from '@swarm-mesh/telemetry';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';

/** Routes probed or scraped many times a minute: no span of their own (as the HTTP instrumentation does). */
const UNTRACED_ROUTES = new Set(['/health', '/health/live', '/metrics']);

const spans = new WeakMap<FastifyRequest, Span>();

/**
 * Gives every response an `x-trace-id` header. With the HTTP instrumentation on (the service
 * entry point), the request already runs in its server span and that trace id is used. Without
 * it (a gateway embedded in a test, or `instrumentHttp: false`), the gateway opens the server
 * span itself and runs the rest of the request inside it, so the coordinator command joins the
 * same trace. When tracing is off altogether the header carries a fresh random id.
 */
export function installRequestTracing(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (req, reply, done) => {
    const current = currentTraceId();
    if (current) {
      void reply.header('x-trace-id', current);
      done();
      return;
    }
    const route = req.routeOptions.url;
    if (route !== undefined && !UNTRACED_ROUTES.has(route)) {
      const span = meshTracer().startSpan(`${req.method} ${route}`, {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': req.method, 'http.route': route },
      });
      if (span.isRecording()) {
        spans.set(req, span);
        void reply.header('x-trace-id', span.spanContext().traceId);
        context.with(trace.setSpan(context.active(), span), done);
        return;
      }
    }
    // 128 random bits like a trace id; randomUUID draws from a cached entropy pool, where
    // randomBytes(16) made a getrandom() system call per request (3 % of the gateway's CPU)
    void reply.header('x-trace-id', randomUUID().replaceAll('-', ''));
    done();
  });
  fastify.addHook('onResponse', (req, reply, done) => {
    const span = spans.get(req);
    if (span) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });
}
