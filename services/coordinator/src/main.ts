import './tracing';
import { serviceMain } from '@swarm-mesh/service-kit';
import { coordinatorDefinition } from './coordinator.definition';
import { telemetry } from './tracing';

serviceMain(coordinatorDefinition, () => telemetry.shutdown());
