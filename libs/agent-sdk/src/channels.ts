import type { MessageDefinition, Priority } from '@swarm-mesh/contracts';
import type { MeshBus, MessageContext } from '@swarm-mesh/messaging';
import type { Subscription } from 'nats';

/** What a channel handler learns besides the validated body. */
export type ChannelMessageMeta = MessageContext;

export type ChannelHandler<T extends object> = (body: T, meta: ChannelMessageMeta) => void | Promise<void>;

export interface ChannelSubscribeOptions {
  /**
   * Queue group (namespaced): the agents subscribed with the same queue share the messages,
   * each message reaches one of them. Default none: every subscriber receives every message.
   */
  queue?: string;
}

export interface ChannelPublishOptions {
  /** Envelope priority. Default MEDIUM. */
  priority?: Priority;
  /** Envelope ttl in ms (0 = never expires). Default 0. */
  ttlMs?: number;
}

/** A channel subscription; `unsubscribe()` stops it. */
export interface ChannelSubscription {
  unsubscribe(): void;
}

interface Entry {
  def: MessageDefinition<object>;
  handler: ChannelHandler<object>;
  opts: ChannelSubscribeOptions;
  sub: Subscription | undefined;
  closed: boolean;
}

/**
 * Publish/subscribe on the swarm channels (`Channels.<domain>.<channel>` from the contracts):
 * messages travel in envelopes through the MeshBus, are validated on receipt (invalid ones are
 * dropped with a warning, the handler never sees them) and carry trace context.
 */
export class AgentChannels {
  private bus: MeshBus | undefined;
  private readonly entries = new Set<Entry>();

  /** Publishes one message (core NATS, at-most-once). Needs a started agent. */
  publish<T extends object>(def: MessageDefinition<T>, body: T, opts: ChannelPublishOptions = {}): void {
    if (!this.bus) throw new Error(`cannot publish on ${def.name}: the agent is not started`);
    this.bus.publish(def, body, {
      ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
      ...(opts.ttlMs !== undefined ? { ttlMs: opts.ttlMs } : {}),
    });
  }

  /** Subscribes to a channel. Before `start()` the subscription is made when the agent starts. */
  subscribe<T extends object>(
    def: MessageDefinition<T>,
    handler: ChannelHandler<T>,
    opts: ChannelSubscribeOptions = {},
  ): ChannelSubscription {
    const entry: Entry = {
      def,
      handler: handler as ChannelHandler<object>,
      opts,
      sub: undefined,
      closed: false,
    };
    this.entries.add(entry);
    if (this.bus) this.open(entry, this.bus);
    return {
      unsubscribe: () => {
        entry.closed = true;
        this.entries.delete(entry);
        entry.sub?.unsubscribe();
        entry.sub = undefined;
      },
    };
  }

  /** @internal Called by the agent once connected. */
  attach(bus: MeshBus): void {
    this.bus = bus;
    for (const e of this.entries) if (!e.sub && !e.closed) this.open(e, bus);
  }

  /** @internal Called by the agent when it stops. */
  detach(): void {
    for (const e of this.entries) {
      try {
        e.sub?.unsubscribe();
      } catch {
        /* connection already closed */
      }
      e.sub = undefined;
    }
    this.bus = undefined;
  }

  private open(e: Entry, bus: MeshBus): void {
    e.sub = bus.subscribe(e.def, e.handler, e.opts.queue ? { queue: e.opts.queue } : {});
  }
}
