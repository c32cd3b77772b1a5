import type { ComponentHealth, HealthStatus, ServiceHealthReply, ServiceName } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { pingDatabase } from '@swarm-mesh/persistence';
import type { DataSource } from 'typeorm';

/** Checks this process's own dependencies (Postgres, NATS). */
export class HealthService {
  private readonly startedAt = new Date();
  /** Extra checks a service may add (e.g. its consumers); a failing one degrades the status. */
  private readonly extraChecks: Array<() => Promise<ComponentHealth> | ComponentHealth> = [];

  constructor(
    private readonly service: ServiceName,
    private readonly instanceId: string,
    private readonly version: string,
    private readonly bus: MeshBus,
    private readonly dataSource: DataSource,
  ) {}

  addCheck(check: () => Promise<ComponentHealth> | ComponentHealth): void {
    this.extraChecks.push(check);
  }

  async postgres(timeoutMs: number): Promise<ComponentHealth> {
    try {
      const latencyMs = await pingDatabase(this.dataSource, timeoutMs);
      return { status: 'ok', latencyMs: Math.round(latencyMs * 100) / 100 };
    } catch (err) {
      return { status: 'down', error: (err as Error).message };
    }
  }

  nats(): ComponentHealth {
    const nc = this.bus.nc;
    if (nc.isClosed()) return { status: 'down', error: 'connection closed' };
    if (nc.isDraining()) return { status: 'degraded', error: 'draining' };
    return { status: 'ok' };
  }

  async check(deep = true, probeTimeoutMs = 1000): Promise<ServiceHealthReply> {
    const postgres = deep ? await this.postgres(probeTimeoutMs) : { status: 'ok' as const };
    const nats = this.nats();
    const extras = await Promise.all(
      this.extraChecks.map(async (c) => {
        try {
          return await c();
        } catch (err) {
          return { status: 'degraded' as const, error: (err as Error).message };
        }
      }),
    );
    const statuses: HealthStatus[] = [postgres.status, nats.status, ...extras.map((e) => e.status)];
    const status: HealthStatus =
      postgres.status === 'down' || nats.status === 'down' ? 'down' : statuses.every((s) => s === 'ok') ? 'ok' : 'degraded';
    return {
      service: this.service,
      instanceId: this.instanceId,
      status,
      version: this.version,
      startedAt: this.startedAt.toISOString(),
      uptimeMs: Date.now() - this.startedAt.getTime(),
      checks: { postgres, nats },
    };
  }
}
