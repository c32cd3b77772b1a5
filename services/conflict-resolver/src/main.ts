import './tracing';
import { serviceMain } from '@swarm-mesh/service-kit';
import { conflictResolverDefinition } from './conflict-resolver.definition';
import { telemetry } from './tracing';

serviceMain(conflictResolverDefinition, () => telemetry.shutdown());
