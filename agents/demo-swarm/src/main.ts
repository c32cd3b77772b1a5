/**
 * Demo swarm: agents that simulate providers (latency, failures, token use) for the five demo
 * capabilities, driven from outside by `input.simulate` (CONTRACT.md). Built with the agent SDK
 * only. `node agents/demo-swarm/dist/main.js`; configuration in README.md / config.ts.
 */
import { AgentOptionsError, createLogger, type Logger, startTelemetry } from '@swarm-mesh/agent-sdk';
import { type DemoConfig, DemoConfigError, loadDemoConfig } from './config';
import { metricFamily, startStatusServer, type StatusServer } from './http';
import { providerMetrics } from './provider';
import { providerRoute } from './providers';
import { runSupervisor } from './supervisor';
import { DemoSwarm } from './swarm';

function fail(message: string, problems: string[] = []): never {
  process.stderr.write(
    `${JSON.stringify({ ts: new Date().toISOString(), level: 'error', service: 'demo-swarm', msg: message, problems })}\n`,
  );
  process.stderr.write(`demo-swarm: ${message}\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  process.exit(1);
}

async function runInProcess(config: DemoConfig, logger: Logger, onStopped: () => Promise<void>): Promise<void> {
  let swarm: DemoSwarm;
  try {
    swarm = new DemoSwarm(config, logger);
  } catch (err) {
    if (err instanceof AgentOptionsError) fail('invalid agent options (check NATS_URL, SWARM_NAMESPACE, NATS_*)', err.problems);
    throw err;
  }
  const child = config.onlyAgentId !== undefined;
  let stopping = false;
  let server: StatusServer | undefined;

  const shutdown = (signal: string): void => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info('draining demo agents', { signal, agents: config.agents.length });
    void (async () => {
      await swarm.stop();
      await server?.close();
      await onStopped();
      logger.info('demo swarm stopped');
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  if (child) process.on('disconnect', () => shutdown('parent-exit'));

  if (!child) {
    server = await startStatusServer(
      config.httpHost,
      config.httpPort,
      {
        health: () => {
          const agents = swarm.status();
          const status = stopping ? 'stopping' : agents.every((a) => a.registered) ? 'ok' : 'starting';
          return { status, agents };
        },
        route: (method, path, body) => providerRoute(swarm.providers, method, path, body),
        metrics: () => {
          const agents = swarm.status();
          const outcomes = ['succeeded', 'failed', 'cancelled', 'superseded'] as const;
          return (
            metricFamily(
              'demo_agent_attempts_total',
              'counter',
              'Attempts finished by demo agents, by outcome.',
              agents.flatMap((a) => outcomes.map((o) => ({ labels: { agent: a.id, capability: a.capability, outcome: o }, value: a[o] }))),
            ) +
            metricFamily(
              'demo_agent_running',
              'gauge',
              'Attempts running now.',
              agents.map((a) => ({ labels: { agent: a.id }, value: a.running })),
            ) +
            metricFamily(
              'demo_agent_registered',
              'gauge',
              'Whether the agent is registered with the coordinator.',
              agents.map((a) => ({ labels: { agent: a.id }, value: a.registered ? 1 : 0 })),
            ) +
            providerMetrics()
          );
        },
      },
      logger,
    );
  }

  logger.info('demo agents starting', {
    agents: config.agents.map((a) => a.id),
    concurrency: config.concurrency,
    latencyMs: config.latencyMs,
    jitterMs: config.jitterMs,
    failureRate: config.failureRate,
    ...(config.providers.length > 0 ? { providers: config.providers } : {}),
  });
  try {
    await swarm.start();
  } catch (err) {
    logger.error('demo agents could not start', { err });
    await swarm.stop();
    await server?.close();
    await onStopped();
    process.exit(1);
  }
  if (stopping) return;
  if (child) {
    logger.info('agent ready', { event: 'agent-ready', agent: config.onlyAgentId });
    process.send?.({ type: 'ready', agentId: config.onlyAgentId });
  } else {
    // the ready line is printed whatever LOG_LEVEL says: runners and tests wait for it
    createLogger({ service: 'demo-swarm', level: 'debug' }).info('service ready', {
      event: 'ready',
      port: server!.port,
      url: server!.url,
      agents: config.agents.length,
    });
  }
}

async function main(): Promise<void> {
  let config: DemoConfig;
  try {
    config = loadDemoConfig(process.env);
  } catch (err) {
    if (err instanceof DemoConfigError) fail('invalid configuration', err.problems);
    throw err;
  }
  const telemetry = startTelemetry({
    serviceName: config.onlyAgentId ? `demo-swarm:${config.onlyAgentId}` : 'demo-swarm',
    instrumentHttp: false,
  });
  const logger = createLogger({ service: 'demo-swarm' });
  if (config.processPerAgent && config.onlyAgentId === undefined) {
    await runSupervisor(config, logger, __filename);
    return;
  }
  await runInProcess(config, logger, () => telemetry.shutdown());
}

main().catch((err: unknown) => {
  process.stderr.write(`demo-swarm: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
