import { Inject, Injectable } from '@nestjs/common';
import { type ComponentHealth, HealthCommands, type HealthStatus, SERVICE_NAMES, type ServiceName } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { HEALTH, type HealthService, MESH_BUS } from '@swarm-mesh/service-kit';

/** One service's entry in the mesh health report. */
export interface ServiceHealthEntry {
  status: HealthStatus;
  instanceId?: string;
  version?: string;
  uptimeMs?: number;
  latencyMs?: number;
  error?: string;
  checks?: { postgres: ComponentHealth; nats: ComponentHealth };
}

/** `GET /api/v1/health` body (CONTRACT.md). */
export interface MeshHealthReport {
  status: HealthStatus;
  services: Record<ServiceName, ServiceHealthEntry>;
  nats: ComponentHealth;
  postgres: ComponentHealth;
  checkedAt: string;
}

/** Asks every service for its health over NATS, in parallel, and folds the answers. */
@Injectable()
export class MeshHealthService {
  constructor(
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(HEALTH) private readonly health: HealthService,
  ) {}

  async report(timeoutMs = 1500): Promise<MeshHealthReport> {
    const own = await this.health.check(true, Math.min(timeoutMs, 1000));
    const remote = SERVICE_NAMES.filter((s) => s !== 'gateway');
    const answers = await Promise.all(
      remote.map(async (service): Promise<[ServiceName, ServiceHealthEntry]> => {
        const started = performance.now();
        try {
          const r = await this.bus.request(
            HealthCommands[service],
            { deep: true, probeTimeoutMs: Math.min(timeoutMs, 1000) },
            // a service that is not there is reported down now, not after the start-up grace
            { timeoutMs, awaitResponderMs: 0 },
          );
          return [
            service,
            {
              status: r.status,
              instanceId: r.instanceId,
              version: r.version,
              uptimeMs: r.uptimeMs,
              latencyMs: round(performance.now() - started),
              checks: r.checks,
            },
          ];
        } catch (err) {
          return [service, { status: 'down', error: (err as Error).message, latencyMs: round(performance.now() - started) }];
        }
      }),
    );
    const services = {
      gateway: { status: own.status, instanceId: own.instanceId, version: own.version, uptimeMs: own.uptimeMs, checks: own.checks },
      ...Object.fromEntries(answers),
    } as Record<ServiceName, ServiceHealthEntry>;
    const all = Object.values(services).map((s) => s.status);
    const status: HealthStatus = own.checks.nats.status === 'down' ? 'down' : all.every((s) => s === 'ok') ? 'ok' : 'degraded';
    return { status, services, nats: own.checks.nats, postgres: own.checks.postgres, checkedAt: new Date().toISOString() };
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
