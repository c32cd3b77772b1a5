import './tracing';
import { serviceMain } from '@swarm-mesh/service-kit';
import { gatewayDefinition } from './gateway.definition';
import { telemetry } from './tracing';

serviceMain(gatewayDefinition, () => telemetry.shutdown());
