import { IsBoolean, IsISO8601, IsString, Length } from 'class-validator';

/**
 * Runtime feature flags. Stored in the NATS KV bucket `swarm_flags` (namespaced like every
 * bucket), one key per flag, value = FlagValue JSON. Every service watches the bucket, so a
 * change applies everywhere within a moment, without a restart.
 */
export const FLAGS = {
  'optimizer.auto_apply': {
    description: 'Apply the performance optimizer’s timeouts and routing weights automatically (otherwise they are recommendations).',
    default: false,
  },
  'resources.preemption': {
    description: 'Let the conflict resolver preempt lower-priority running tasks when a higher-priority task needs capacity.',
    default: true,
  },
  'scaling.predictive': {
    description: 'Publish predictive scaling signals from the demand forecast.',
    default: false,
  },
} as const satisfies Record<string, { description: string; default: boolean }>;

export type FlagName = keyof typeof FLAGS;

export function isFlagName(v: unknown): v is FlagName {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(FLAGS, v);
}

/** What a flag's KV entry holds. */
export class FlagValue {
  @IsBoolean()
  enabled!: boolean;

  @IsISO8601()
  updatedAt!: string;

  /** Who changed it (`api-key:<id>`, `cli`, `service:<name>`). */
  @IsString()
  @Length(1, 200)
  updatedBy!: string;
}
