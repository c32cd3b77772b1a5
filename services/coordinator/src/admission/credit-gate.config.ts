import { bool, type EnvSpec, int, readEnv } from '@swarm-mesh/service-kit';
import type { MeshBus } from '@swarm-mesh/messaging';
import type { Logger } from '@swarm-mesh/telemetry';
import { type AdmissionGate, AlwaysAdmit } from './admission-gate';
import { CreditGate } from './credit-gate';

/** Settings of the coordinator's side of the resource credits (ms; tests shrink them). */
export const CREDIT_GATE_ENV = {
  RESOURCES_ADMISSION: bool('Admit tasks bound to resource pools only on the allocator’s credits (off: admit everything)', {
    default: true,
  }),
  RESOURCES_REPORT_INTERVAL_MS: int('Demand report period while pools are known (the allocator may override it)', {
    default: 100,
    min: 5,
    max: 10_000,
  }),
  RESOURCES_IDLE_POLL_MS: int('Report period while no pool is known or nothing is waiting (pool discovery)', {
    default: 1000,
    min: 10,
    max: 600_000,
  }),
  RESOURCES_EXCHANGE_TIMEOUT_MS: int('Deadline of one demand report', { default: 2000, min: 10, max: 60_000 }),
} satisfies EnvSpec;

/** The gate the engine gets: credits from the allocator, or AlwaysAdmit when turned off. */
export function createAdmissionGate(
  bus: MeshBus,
  logger: Logger,
  holder: string,
  env: NodeJS.ProcessEnv = process.env,
): { gate: AdmissionGate; credit: CreditGate | undefined } {
  const v = readEnv(CREDIT_GATE_ENV, env);
  if (!v.RESOURCES_ADMISSION) return { gate: new AlwaysAdmit(), credit: undefined };
  const credit = new CreditGate(bus, logger, {
    holder: `coordinator:${holder}`,
    reportIntervalMs: v.RESOURCES_REPORT_INTERVAL_MS,
    idlePollMs: v.RESOURCES_IDLE_POLL_MS,
    exchangeTimeoutMs: v.RESOURCES_EXCHANGE_TIMEOUT_MS,
  });
  return { gate: credit, credit };
}
