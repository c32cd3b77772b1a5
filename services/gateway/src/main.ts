import './tracing';
import { serviceMain } from '@swarm-mesh/service-kit';
import { gatewayDefinition } from './gateway.definition';
import { installLeanAsyncResourceBind } from './http/lean-async-resource-bind';
import { telemetry } from './tracing';

installLeanAsyncResourceBind();
serviceMain(gatewayDefinition, () => telemetry.shutdown());
