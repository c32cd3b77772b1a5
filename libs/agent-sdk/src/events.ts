import type { AgentControlMessage, AgentHeartbeat, AgentRegisterReply, AttemptResultDto } from '@swarm-mesh/contracts';

/** How an attempt ended locally. `superseded`: fenced off (cancel of an old epoch, STALE_LEASE, not kept); never reported. */
export type LocalOutcome = 'succeeded' | 'failed' | 'cancelled' | 'superseded';

/** Events an `Agent` emits (`agent.on(name, listener)`); meant for tests, metrics and logs. */
export interface AgentEvents {
  /** The coordinator accepted a registration (at start, after a reconnect, after a restart). */
  registered: { instanceId: string; reply: AgentRegisterReply; reRegistration: boolean };
  /** A dispatch message was received; `ignored` when it was meant for another instance. */
  dispatch: { tasks: number; ignored: boolean; overflow: boolean };
  /** An attempt was accepted into a slot and its handler is starting. */
  'task:started': { taskId: string; epoch: number; attempt: number; capability: string };
  /** An attempt ended. `result` is what was (or would have been) reported. */
  'task:finished': {
    taskId: string;
    epoch: number;
    attempt: number;
    capability: string;
    outcome: LocalOutcome;
    reported: boolean;
    result: AttemptResultDto;
  };
  /** A control message arrived (before it is applied). */
  control: AgentControlMessage;
  /** The pull mode changed (`draining` after drain()/stop()/restart, `ready` after resume()). */
  mode: { mode: 'ready' | 'draining' };
  /** A heartbeat was published. */
  heartbeat: AgentHeartbeat;
  /** A result batch was stored by JetStream. */
  results: { batchId: string; count: number };
  /** The agent stopped and closed its connection. */
  stopped: Record<string, never>;
}

export type AgentEventName = keyof AgentEvents;
export type AgentEventListener<K extends AgentEventName> = (payload: AgentEvents[K]) => void;
