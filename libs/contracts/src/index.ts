/**
 * @swarm-mesh/contracts — the one place where subjects, message definitions, DTOs, enums
 * and error codes live. No NestJS imports here: agents and the CLI use it too.
 */
import 'reflect-metadata';

export * from './enums';
export * from './errors/error-codes';
export * from './errors/errors';
export * from './validation/decode';
export * from './envelope/agent-message';
export * from './envelope/envelope';
export * from './subjects/subjects';
export * from './definitions/definitions';
export * from './dto/health.dto';
export * from './dto/channel.dto';
export * from './catalog/health.messages';
export * from './catalog/channel.messages';
export * from './validation/validators';
export * from './dto/task.dto';
export * from './dto/task-commands.dto';
export * from './dto/agent.dto';
export * from './dto/dead-letter.dto';
export * from './dto/queue.dto';
export * from './dto/event.dto';
export * from './catalog/coordinator.messages';
export * from './catalog/agent-protocol.messages';
export * from './catalog/event.messages';
export * from './catalog/flags';
export * from './dto/gateway-admin.dto';
export * from './catalog/alert-events';
export * from './dto/resources.dto';
export * from './dto/conflicts.dto';
export * from './catalog/resources.messages';
export * from './catalog/conflicts.messages';
export * from './dto/performance.dto';
export * from './catalog/performance.messages';
export * from './dto/validation.dto';
export * from './dto/subtask.dto';
export * from './dto/workflow.dto';
export * from './catalog/workflow.messages';
