import './tracing';
import { serviceMain } from '@swarm-mesh/service-kit';
import { resourceAllocatorDefinition } from './resource-allocator.definition';
import { telemetry } from './tracing';

serviceMain(resourceAllocatorDefinition, () => telemetry.shutdown());
