import 'reflect-metadata';
import type { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { HealthCommands, type ServiceName, SERVICE_SCHEMAS } from '@swarm-mesh/contracts';
import { connectMesh, FlagStore, LeaderLease, MeshBus } from '@swarm-mesh/messaging';
import { ServiceLeadership } from '../leadership/service-leadership';
import { isTransientDbError, openServiceDataSource } from '@swarm-mesh/persistence';
import { createLogger, type Logger } from '@swarm-mesh/telemetry';
import type { FastifyServerOptions } from 'fastify';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import type { DataSource, MixedList } from 'typeorm';
import { ConfigError, type EnvSpec, type EnvValues } from '../config/env-spec';
import { loadServiceConfig, type ServiceConfig } from '../config/service-config';
import { HealthService } from '../ops/health.service';
import { NestJsonLogger } from '../ops/json-logger';
import { installBodyParsers } from '../http/json-body-parser';
import { MetricsRegistry } from '../ops/metrics.registry';
import { MeshTransport } from '../transport/mesh.transport';
import { ServiceKitModule } from './service-kit.module';
import type { ServiceRuntime } from './service-runtime';

/** What a service is made of. */
export interface ServiceDefinition<S extends EnvSpec = EnvSpec> {
  service: ServiceName;
  /** The service's root feature module. */
  module: Type<unknown>;

  entities: MixedList<Function>;

  migrations: MixedList<Function>;
  /** Service-specific environment variables. */
  env?: S;
  /** Largest HTTP request body, or a function of the service's settings. Default 1 MiB. */
  bodyLimitBytes?: number | ((extra: EnvValues<S>) => number);
  /** Extra Fastify server options (e.g. `frameworkErrors`), merged over the kit's. */
  fastifyOptions?: Omit<FastifyServerOptions, 'bodyLimit'>;
  /**
   * One active replica at a time (its state lives in the process): the active replica holds a
   * lease in NATS KV, the others stand by — they serve /health and /metrics but no commands, and
   * take over when the lease lapses. Work registered with `Leadership.onActive` starts then.
   * Default false (every replica is active).
   */
  singleton?: boolean;
  /** Runs after the Nest app is created and before it listens (routes prefix, OpenAPI, WebSocket…). */
  configureApp?(app: NestFastifyApplication, runtime: ServiceRuntime<EnvValues<S>>): Promise<void> | void;
}

/** A started service. */
export interface RunningService<X = unknown> {
  runtime: ServiceRuntime<X>;
  app: INestApplication;
  /** Actual HTTP port (useful with port 0). */
  port: number;
  url: string;
  stop(): Promise<void>;
}

async function withRetry<T>(what: string, logger: Logger, fn: () => Promise<T>, shouldRetry: (e: unknown) => boolean): Promise<T> {
  let delay = 250;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!shouldRetry(err)) throw err;
      logger.warn(`${what} unavailable; retrying`, { error: (err as Error).message, retryInMs: delay });
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5_000);
    }
  }
}

/**
 * Starts a service: config (validated), NATS (waits for it), Postgres (retries, creates the
 * schema, runs migrations), the Nest app with the mesh transport, the health responder and
 * the HTTP server. Used by each service's `main.ts` and by tests that run a service in-process.
 */
export async function runService<S extends EnvSpec>(
  def: ServiceDefinition<S>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunningService<EnvValues<S>>> {
  const config: ServiceConfig<EnvValues<S>> = loadServiceConfig(def.service, def.env, env);
  applyHeapGrowing(config.heapGrowingPercent);
  const logger = createLogger({ service: def.service, level: config.logLevel, base: { instance: config.instanceId } });
  const metrics = new MetricsRegistry(def.service, config.instanceId, config.version);
  logger.info('starting', { namespace: config.namespace || undefined, nats: config.nats.servers, version: config.version });

  const nc = await connectMesh({ ...config.nats, name: `${def.service}:${config.instanceId}`, logger });
  metrics.natsConnected.set(1);
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        metrics.natsConnected.set(0);
        metrics.natsErrors.inc({ kind: 'disconnect' });
      } else if (s.type === 'reconnect') metrics.natsConnected.set(1);
      else if (s.type === 'error') metrics.natsErrors.inc({ kind: 'error' });
    }
  })().catch(() => {});
  const bus = new MeshBus({
    nc,
    identity: def.service,
    namespace: config.namespace,
    logger,
    observer: metrics.busObserver(),
    awaitResponderMs: config.awaitResponderMs,
  });

  let dataSource: DataSource;
  try {
    dataSource = await withRetry(
      'postgres',
      logger,
      () =>
        openServiceDataSource({
          url: config.database.url,
          schema: SERVICE_SCHEMAS[def.service],
          entities: def.entities,
          migrations: def.migrations,
          poolMax: config.database.poolMax,
          createDatabaseIfMissing: config.database.createIfMissing,
          applicationName: `${def.service}:${config.instanceId}`.slice(0, 63),
          logger,
        }),
      isTransientDbError,
    );
  } catch (err) {
    await bus.close();
    throw err;
  }

  metrics.observePostgres(dataSource);
  const health = new HealthService(def.service, config.instanceId, config.version, bus, dataSource);
  const flags = await FlagStore.open(bus);
  const leadership = new ServiceLeadership(
    def.singleton
      ? new LeaderLease(bus, logger, { key: def.service, instanceId: config.instanceId, ttlMs: config.leaderLeaseTtlMs })
      : null,
    logger,
  );
  const runtime: ServiceRuntime<EnvValues<S>> = { config, bus, dataSource, logger, metrics, health, flags, leadership };

  const bodyLimit = typeof def.bodyLimitBytes === 'function' ? def.bodyLimitBytes(config.extra) : (def.bodyLimitBytes ?? 1024 * 1024);
  // agent ids may be 128 characters: allow path parameters that long
  const adapter = new FastifyAdapter({ bodyLimit, trustProxy: true, routerOptions: { maxParamLength: 256 }, ...def.fastifyOptions });
  installBodyParsers(adapter, bodyLimit);
  metrics.observeHttp(adapter.getInstance());
  const app = await NestFactory.create<NestFastifyApplication>(ServiceKitModule.forRoot(runtime, def.module), adapter, {
    logger: new NestJsonLogger(logger),
    bufferLogs: false,
  });
  if (def.configureApp) await def.configureApp(app, runtime);
  const transport = new MeshTransport(bus);
  app.connectMicroservice({ strategy: transport }, { inheritAppConfig: true });
  // module hooks register their start-up work; it runs (stream provisioning, working-set load)
  // before any command is handled
  await app.init();
  bus.handle(HealthCommands[def.service], (req) => health.check(req.deep ?? true, req.probeTimeoutMs ?? 1000));
  let activation: Promise<void> = Promise.resolve();
  if (!def.singleton) {
    await leadership.activate();
    await app.startAllMicroservices();
  } else {
    // a standby answers health and metrics while it waits for the lease
    activation = leadership
      .activate()
      .then(() => app.startAllMicroservices())
      .then(() => logger.info('active replica: serving commands', { token: leadership.token() }))
      .catch((err: unknown) => {
        if (stopping) return;
        logger.error('activation failed', { err });
        process.exit(1);
      });
  }

  await app.listen(config.http.port, config.http.host);
  const address = app.getHttpServer().address() as AddressInfo;
  const port = address.port;
  const hostForUrl = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
  const url = `http://${hostForUrl}:${port}`;
  // the ready line is a start-up contract (runners and tests wait for it): emit it at any LOG_LEVEL
  createLogger({ service: def.service, level: 'debug', base: { instance: config.instanceId } }).info('service ready', {
    event: 'ready',
    port,
    url,
  });

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info('stopping');
      const grace = new Promise<void>((r) => setTimeout(r, config.shutdownGraceMs).unref());
      await Promise.race([bus.stopHandling(config.shutdownGraceMs), grace]);
      await app.close().catch((err: unknown) => logger.error('app close failed', { err }));
      // the standby takes over at once instead of after the lease's TTL
      await leadership.release().catch(() => {});
      void activation;
      flags.stop();
      if (dataSource.isInitialized) await dataSource.destroy().catch(() => {});
      await bus.close().catch(() => {});
      logger.info('stopped');
    })();
    return stopping;
  };
  return { runtime, app, port, url, stop };
}

/**
 * Sets V8's old-generation growing factor (1 + percent/100) for the next collections. V8's own
 * factor adapts up to 4× the live heap: under steady load the gateway's RSS swung 179–245 MiB
 * (sd 15–20 MiB over 90 s at 1,000 tasks/s) with 60–70 MiB live; at 50 % it stayed 173–181 MiB
 * (sd 1–2). The price is more full GCs: in single-submit profiles GC took ~0.02 CPU-ms more per
 * task (gateway + coordinator), within the runs' noise. Takes effect at the next GC; 0 leaves
 * V8's default.
 */
function applyHeapGrowing(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/**
 * Entry point for a service process: runs it, stops cleanly on SIGTERM/SIGINT, and exits with
 * a clear message on bad configuration.
 */
export function serviceMain<S extends EnvSpec>(def: ServiceDefinition<S>, onStopped?: () => Promise<void>): void {
  let running: RunningService<EnvValues<S>> | null = null;
  let signalled = false;
  const shutdown = (): void => {
    if (!running) return;
    void running
      .stop()
      .then(() => onStopped?.())
      .finally(() => process.exit(0));
  };
  // installed before start-up so a stop that arrives early is still graceful
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) process.exit(1);
    signalled = true;
    process.stderr.write(`${def.service}: ${signal} received, stopping\n`);
    shutdown();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  runService(def)
    .then((r) => {
      running = r;
      if (signalled) shutdown();
    })
    .catch((err: unknown) => {
      if (err instanceof ConfigError) {
        process.stderr.write(`${def.service}: ${err.message}\n`);
      } else {
        process.stderr.write(`${def.service}: failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
      }
      process.exit(1);
    });
}
