import { MessagePattern } from '@nestjs/microservices';
import type { CommandDefinition } from '@swarm-mesh/contracts';

/** Key under which the definition travels in the handler's extras. */
export const COMMAND_DEFINITION_EXTRA = 'swarmCommand';

/**
 * Marks a controller method as the handler of a typed command. The method receives the
 * validated request (`@Payload()`) and the MessageContext (`@Ctx()`) and returns the reply.
 */
export function HandleCommand(def: CommandDefinition<object, object>): MethodDecorator {
  return MessagePattern(def.subject, { [COMMAND_DEFINITION_EXTRA]: def });
}
