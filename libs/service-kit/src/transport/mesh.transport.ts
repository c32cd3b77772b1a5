import { type CustomTransportStrategy, Server } from '@nestjs/microservices';
import type { CommandDefinition } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { isObservable, lastValueFrom } from 'rxjs';
import { COMMAND_DEFINITION_EXTRA } from './handle-command.decorator';

/**
 * A NestJS microservice transport over the mesh bus: every `@HandleCommand(def)` method is
 * registered with `bus.handle(def)`, so it gets envelope decoding, validation, the service's
 * queue group, trace context and coded error replies.
 */
export class MeshTransport extends Server implements CustomTransportStrategy {
  constructor(private readonly bus: MeshBus) {
    super();
  }

  listen(callback: (...optionalParams: unknown[]) => unknown): void {
    for (const [pattern, handler] of this.messageHandlers) {
      const def = handler.extras?.[COMMAND_DEFINITION_EXTRA] as CommandDefinition<object, object> | undefined;
      if (!def) throw new Error(`handler for "${pattern}" was not declared with @HandleCommand(def)`);
      this.bus.handle(def, async (req, ctx) => {
        const out: unknown = await handler(req, ctx);
        const value: unknown = isObservable(out) ? await lastValueFrom(out) : out;
        return value as object;
      });
    }
    callback();
  }

  async close(): Promise<void> {
    await this.bus.stopHandling();
  }

  on(): void {
    throw new Error('MeshTransport does not emit events');
  }

  unwrap<T>(): T {
    return this.bus as unknown as T;
  }
}
