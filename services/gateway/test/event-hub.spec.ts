import type { MeshEventDto } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { silentLogger } from '@swarm-mesh/telemetry';
import { EventHub } from '../src/stream/event-hub.service';

const event: MeshEventDto = { type: 'task.succeeded', ts: '2026-01-01T00:00:00.000Z', tenantId: 'default', data: { taskId: 't' } };

describe('EventHub listeners', () => {
  it('delivers only to listeners that want events now, and stops after unsubscribe', () => {
    const hub = new EventHub({} as MeshBus, silentLogger);
    const always: MeshEventDto[][] = [];
    const gated: MeshEventDto[][] = [];
    let open = false;
    const offAlways = hub.on((e) => always.push(e));
    hub.on(
      (e) => gated.push(e),
      () => open,
    );
    hub.emitLocal([event]);
    expect(always).toHaveLength(1);
    expect(gated).toHaveLength(0);
    open = true;
    hub.emitLocal([event]);
    expect(gated).toEqual([[event]]);
    offAlways();
    hub.emitLocal([event]);
    expect(always).toHaveLength(2);
    expect(gated).toHaveLength(2);
  });
});
