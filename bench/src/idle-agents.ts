/**
 * `node bench/dist/idle-agents.js`: N simulated agents that register and heart-beat like real
 * ones (agent SDK, one process, connections shared by groups of agents) but offer a capability
 * nobody submits (`bench.idle`), so the coordinator tracks them, their heartbeats and their
 * dispatch consumers while the benchmark's no-op agents do the work. Issue 9: "1,000 connected
 * agents while the benchmark runs: throughput within 10 % of the run without them".
 *
 * Env: SWARM_NAMESPACE, NATS_URL, IDLE_AGENTS (default 1000), IDLE_AGENTS_PER_CONNECTION
 * (default 50), LOG_LEVEL (the bench sets warn). Prints `ready <n>` on stdout once every agent is registered; SIGTERM drains and
 * exits.
 */
import { Agent } from '@swarm-mesh/agent-sdk';
import { connect, type NatsConnection } from 'nats';

async function main(): Promise<void> {
  const n = Number(process.env.IDLE_AGENTS ?? 1000);
  const perConnection = Math.max(1, Number(process.env.IDLE_AGENTS_PER_CONNECTION ?? 50));
  const namespace = process.env.SWARM_NAMESPACE ?? '';
  const servers = (process.env.NATS_URL ?? 'nats://127.0.0.1:4222').split(',');
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new Error(`IDLE_AGENTS must be 1–10000 (got ${process.env.IDLE_AGENTS})`);
  const connections: NatsConnection[] = [];
  const agents: Agent[] = [];
  for (let i = 0; i < n; i++) {
    if (i % perConnection === 0)
      connections.push(await connect({ servers, name: `bench-idle-${connections.length}`, maxReconnectAttempts: -1 }));
    const agent = new Agent({
      id: `idle-${String(i).padStart(5, '0')}`,
      domain: 'infra',
      tier: 'microtask',
      concurrency: 1,
      namespace,
      connection: connections[connections.length - 1]!,
      metadata: { bench: 'idle' },
    });
    agent.handle('bench.idle', () => ({}));
    agents.push(agent);
  }
  // register in waves: a thousand registrations at once would only measure the burst
  for (let i = 0; i < agents.length; i += 100) await Promise.all(agents.slice(i, i + 100).map((a) => a.start()));
  process.stdout.write(`ready ${agents.length}\n`);
  const stop = async (): Promise<void> => {
    await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
    await Promise.all(connections.map((c) => c.close().catch(() => undefined)));
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`idle agents: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
