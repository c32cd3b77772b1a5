import { type ChildProcess, fork } from 'node:child_process';
import { createLogger, type Logger } from '@swarm-mesh/agent-sdk';
import type { DemoConfig } from './config';
import { metricFamily, startStatusServer } from './http';

interface Child {
  id: string;
  proc: ChildProcess | undefined;
  ready: boolean;
  restarts: number;
  exited: Promise<void>;
}

/**
 * DEMO_PROCESS_PER_AGENT=true: one child process per agent (this script again, with
 * DEMO_AGENT_ID). Children that die are restarted with backoff; SIGTERM/SIGINT are forwarded
 * and the supervisor exits 0 once every child has drained and exited.
 */
export async function runSupervisor(config: DemoConfig, logger: Logger, script: string): Promise<void> {
  const children = new Map<string, Child>();
  let stopping = false;
  let readyLogged = false;

  const server = await startStatusServer(
    config.httpHost,
    config.httpPort,
    {
      health: () => {
        const list = [...children.values()].map((c) => ({ id: c.id, pid: c.proc?.pid, ready: c.ready, restarts: c.restarts }));
        const status = stopping ? 'stopping' : list.every((c) => c.ready) ? 'ok' : 'starting';
        return { status, mode: 'process-per-agent', agents: list };
      },
      metrics: () =>
        metricFamily(
          'demo_agent_process_restarts_total',
          'counter',
          'Restarts of demo agent processes.',
          [...children.values()].map((c) => ({ labels: { agent: c.id }, value: c.restarts })),
        ) +
        metricFamily(
          'demo_agent_ready',
          'gauge',
          'Whether the agent process registered with the coordinator.',
          [...children.values()].map((c) => ({ labels: { agent: c.id }, value: c.ready ? 1 : 0 })),
        ),
    },
    logger,
  );

  const launch = (c: Child): void => {
    const proc = fork(script, process.argv.slice(2), {
      env: { ...process.env, DEMO_AGENT_ID: c.id, DEMO_PROCESS_PER_AGENT: 'false' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    c.proc = proc;
    c.ready = false;
    c.exited = new Promise<void>((resolve) => {
      proc.on('exit', (code, signal) => {
        c.ready = false;
        resolve();
        if (stopping) return;
        const delay = Math.min(30_000, 500 * 2 ** Math.min(c.restarts, 6));
        c.restarts++;
        logger.warn('agent process exited; restarting', { agent: c.id, code, signal, restartInMs: delay });
        setTimeout(() => {
          if (!stopping) launch(c);
        }, delay);
      });
    });
    proc.on('message', (m: unknown) => {
      if (typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'ready') {
        c.ready = true;
        if (!readyLogged && [...children.values()].every((x) => x.ready)) {
          readyLogged = true;
          createLogger({ service: 'demo-swarm', level: 'debug' }).info('service ready', {
            event: 'ready',
            port: server.port,
            url: server.url,
            agents: children.size,
            mode: 'process-per-agent',
          });
        }
      }
    });
  };

  for (const spec of config.agents) {
    const c: Child = { id: spec.id, proc: undefined, ready: false, restarts: 0, exited: Promise.resolve() };
    children.set(spec.id, c);
    launch(c);
  }

  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info('stopping agent processes', { signal, agents: children.size });
    void (async () => {
      const deadline = config.shutdownGraceMs + 5_000;
      await Promise.all(
        [...children.values()].map(async (c) => {
          if (!c.proc || c.proc.exitCode !== null || c.proc.signalCode !== null) return;
          c.proc.kill('SIGTERM');
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            c.exited,
            new Promise<void>((r) => {
              timer = setTimeout(() => {
                c.proc?.kill('SIGKILL');
                r();
              }, deadline);
            }),
          ]);
          clearTimeout(timer);
        }),
      );
      await server.close();
      logger.info('demo swarm stopped');
      process.exit(0);
    })();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
