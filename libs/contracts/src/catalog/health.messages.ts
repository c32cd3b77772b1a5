import { SERVICE_NAMES, type ServiceName } from '../enums';
import { defineCommand, type CommandDefinition } from '../definitions/definitions';
import { HealthRequest, ServiceHealthReply } from '../dto/health.dto';

/** `swarm.cmd.<service>.health` — every service answers; the gateway fans out to all. */
export const HealthCommands: Readonly<Record<ServiceName, CommandDefinition<HealthRequest, ServiceHealthReply>>> = Object.freeze(
  Object.fromEntries(
    SERVICE_NAMES.map((service) => [
      service,
      defineCommand({
        service,
        command: 'health',
        request: HealthRequest,
        reply: ServiceHealthReply,
        timeoutMs: 2_000,
        maxPayloadBytes: 16 * 1024,
        description: `Health of ${service}: its own status plus its Postgres and NATS checks.`,
      }),
    ]),
  ) as Record<ServiceName, CommandDefinition<HealthRequest, ServiceHealthReply>>,
);
