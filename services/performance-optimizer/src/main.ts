import './tracing';
import { serviceMain } from '@swarm-mesh/service-kit';
import { performanceOptimizerDefinition } from './performance-optimizer.definition';
import { telemetry } from './tracing';

serviceMain(performanceOptimizerDefinition, () => telemetry.shutdown());
