// Imported first by main.ts: OpenTelemetry must patch http before NestJS loads it.
import { startTelemetry } from '@swarm-mesh/telemetry';

export const telemetry = startTelemetry({ serviceName: 'conflict-resolver' });
