import { Counter, collectDefaultMetrics, Histogram, Registry, Gauge } from 'prom-client';
import type { MeshBusObserver } from '@swarm-mesh/messaging';
import type { DataSource, Logger as TypeOrmLogger } from 'typeorm';

/** The pieces of a Fastify instance `observeHttp` needs (kept structural: no Fastify import here). */
export interface HttpHookHost {
  addHook(
    name: 'onResponse',
    hook: (
      request: { method: string; url: string; routeOptions?: { url?: string } },
      reply: { statusCode: number; elapsedTime: number },
      done: () => void,
    ) => void,
  ): unknown;
}

/** Paths of the ops endpoints, left out of the HTTP series (scrapes and probes would drown the API). */
const OPS_PATHS = new Set(['/metrics', '/health', '/health/live']);

/**
 * The process's Prometheus registry with the series every service exposes. Services add
 * their own series to `registry`. Metric names are documented in the README.
 */
export class MetricsRegistry {
  readonly registry = new Registry();
  readonly natsHandled: Counter<'type' | 'outcome'>;
  readonly natsHandleSeconds: Histogram<'type'>;
  readonly natsRequests: Counter<'type' | 'outcome'>;
  readonly natsPublished: Counter<'type'>;
  readonly natsErrors: Counter<'kind'>;
  readonly dbErrors: Counter<'operation'>;
  readonly natsConnected: Gauge;
  readonly serviceInfo: Gauge<'version'>;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpSeconds: Histogram<'method' | 'route'>;

  constructor(service: string, instanceId: string, version = '') {
    this.registry.setDefaultLabels({ service, instance: instanceId });
    collectDefaultMetrics({ register: this.registry, prefix: 'swarm_process_' });
    const r = [this.registry];
    this.natsHandled = new Counter({
      name: 'swarm_nats_messages_handled_total',
      help: 'Commands and messages handled, by type and outcome (ok or error code)',
      labelNames: ['type', 'outcome'],
      registers: r,
    });
    this.natsHandleSeconds = new Histogram({
      name: 'swarm_nats_handle_duration_seconds',
      help: 'Time to handle a command or message',
      labelNames: ['type'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: r,
    });
    this.natsRequests = new Counter({
      name: 'swarm_nats_requests_total',
      help: 'Requests sent, by type and outcome',
      labelNames: ['type', 'outcome'],
      registers: r,
    });
    this.natsPublished = new Counter({
      name: 'swarm_nats_published_total',
      help: 'Messages published, by type',
      labelNames: ['type'],
      registers: r,
    });
    this.natsErrors = new Counter({
      name: 'swarm_nats_errors_total',
      help: 'NATS connection errors and disconnects',
      labelNames: ['kind'],
      registers: r,
    });
    this.dbErrors = new Counter({
      name: 'swarm_postgres_errors_total',
      help: 'Failed Postgres operations',
      labelNames: ['operation'],
      registers: r,
    });
    this.natsConnected = new Gauge({ name: 'swarm_nats_connected', help: '1 while connected to NATS', registers: r });
    this.serviceInfo = new Gauge({
      name: 'swarm_service_info',
      help: 'Always 1; the version label says which release this process runs',
      labelNames: ['version'],
      registers: r,
    });
    this.serviceInfo.set({ version }, 1);
    this.httpRequests = new Counter({
      name: 'swarm_http_requests_total',
      help: 'HTTP requests answered, by method, route template and status code (ops endpoints excluded)',
      labelNames: ['method', 'route', 'status'],
      registers: r,
    });
    this.httpSeconds = new Histogram({
      name: 'swarm_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by method and route template (ops endpoints excluded)',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    });
  }

  /**
   * Counts and times every HTTP request but the ops endpoints. Routes are the matched templates
   * (`/api/v1/tasks/:id`), so label values stay few; unmatched paths count as `unmatched`.
   */
  observeHttp(host: HttpHookHost): void {
    host.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions?.url;
      if (route === undefined || !OPS_PATHS.has(route)) {
        const labels = { method: request.method, route: route ?? 'unmatched' };
        this.httpRequests.inc({ ...labels, status: String(reply.statusCode) });
        this.httpSeconds.observe(labels, reply.elapsedTime / 1000);
      }
      done();
    });
  }

  /**
   * Counts Postgres failures in `swarm_postgres_errors_total`: failed TypeORM queries
   * (operation `query`) and errors of the connection pool, e.g. a dropped idle connection
   * (operation `connection`). Queries a service runs on the pool directly report their own errors.
   */
  observePostgres(dataSource: DataSource): void {
    const inner: TypeOrmLogger = dataSource.logger;
    const counted = Object.create(inner) as TypeOrmLogger;
    counted.logQueryError = (error, query, parameters, queryRunner): void => {
      this.dbErrors.inc({ operation: 'query' });
      inner.logQueryError(error, query, parameters, queryRunner);
    };
    (dataSource as { logger: TypeOrmLogger }).logger = counted;
    const pool = (dataSource.driver as unknown as { master?: { on?(event: 'error', listener: (err: Error) => void): unknown } }).master;
    pool?.on?.('error', () => this.dbErrors.inc({ operation: 'connection' }));
  }

  /** Hooks for MeshBus. */
  busObserver(): MeshBusObserver {
    return {
      onHandled: (type, outcome, ms) => {
        this.natsHandled.inc({ type, outcome });
        this.natsHandleSeconds.observe({ type }, ms / 1000);
      },
      onRequested: (type, outcome) => this.natsRequests.inc({ type, outcome }),
      onPublished: (type) => this.natsPublished.inc({ type }),
    };
  }
}
