import { randomUUID } from 'node:crypto';
import { type MeshEventDto, PerformanceEventMessages } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import type { Logger } from '@swarm-mesh/telemetry';

/**
 * Publishes the optimizer's facts (`performance.*` events) on the EVENTS stream after the
 * change they report is committed. Low rate; a publish that fails after its retries is logged
 * (the record stays queryable through the commands).
 */
export class Facts {
  constructor(
    private readonly bus: MeshBus,
    private readonly logger: Logger,
  ) {}

  emit(tenantId: string, type: string, data: Record<string, unknown>): void {
    const event: MeshEventDto = { type, ts: new Date().toISOString(), tenantId, data };
    const id = randomUUID();
    this.bus
      .publishDurable(PerformanceEventMessages.facts, { source: 'performance-optimizer', events: [event] }, { msgId: id, retries: 5 })
      .catch((err: unknown) => this.logger.warn('performance event not published', { type, err }));
  }
}
