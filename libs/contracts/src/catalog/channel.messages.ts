import { AGENT_DOMAINS, type AgentDomain } from '../enums';
import { defineMessage, type MessageDefinition } from '../definitions/definitions';
import { ChannelPayload } from '../dto/channel.dto';
import { channelSubject, SWARM_CHANNELS, type SwarmChannelName } from '../subjects/subjects';

type ChannelCatalog = { readonly [D in AgentDomain]: { readonly [C in SwarmChannelName<D>]: MessageDefinition<ChannelPayload> } };

function build(): ChannelCatalog {
  const out: Record<string, Record<string, MessageDefinition<ChannelPayload>>> = {};
  for (const domain of AGENT_DOMAINS) {
    out[domain] = {};
    for (const channel of SWARM_CHANNELS[domain] as readonly string[]) {
      out[domain][channel] = defineMessage({
        name: `channel.${domain}.${channel}`,
        subject: channelSubject(domain, channel as SwarmChannelName<typeof domain>),
        payload: ChannelPayload,
        maxPayloadBytes: 256 * 1024,
        description: `Swarm channel ${domain}.${channel}`,
      });
    }
  }
  return out as unknown as ChannelCatalog;
}

/** The fifteen swarm channels: `Channels.intel.insights` → `swarm.intel.insights`. */
export const Channels: ChannelCatalog = Object.freeze(build());

/** All channel definitions as a flat list. */
export const ALL_CHANNELS: readonly MessageDefinition<ChannelPayload>[] = AGENT_DOMAINS.flatMap((d) =>
  Object.values(Channels[d] as Record<string, MessageDefinition<ChannelPayload>>),
);
