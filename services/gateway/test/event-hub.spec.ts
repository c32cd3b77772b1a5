import type { MeshEventDto } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { silentLogger } from '@swarm-mesh/telemetry';
import { DeliverPolicy } from 'nats';
import { EventHub } from '../src/stream/event-hub.service';

const event: MeshEventDto = { type: 'task.succeeded', ts: '2026-01-01T00:00:00.000Z', tenantId: 'default', data: { taskId: 't' } };

/** A bus whose JetStream hands out fake ordered consumers and records how they were asked for. */
function fakeBus(): { bus: MeshBus; created: Array<Record<string, unknown>>; running: () => number; fail: (v: boolean) => void } {
  const created: Array<Record<string, unknown>> = [];
  let running = 0;
  let failing = false;
  const bus = {
    name: (n: string) => n,
    subject: (s: string) => s,
    js: () => ({
      consumers: {
        get: (_stream: string, opts: Record<string, unknown>) => {
          if (failing) return Promise.reject(new Error('stream not found'));
          created.push(opts);
          return Promise.resolve({
            consume: () => {
              running++;
              let close: () => void = () => {};
              const closed = new Promise<void>((r) => (close = r));
              return Promise.resolve({
                stop: () => {
                  running--;
                  close();
                },
                closed: () => closed,
              });
            },
          });
        },
      },
    }),
  } as unknown as MeshBus;
  return { bus, created, running: () => running, fail: (v) => (failing = v) };
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('EventHub listeners', () => {
  it('delivers only to listeners that want events now, and stops after unsubscribe', () => {
    const { bus } = fakeBus();
    const hub = new EventHub(bus, silentLogger);
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
    hub.onModuleDestroy();
  });
});

describe('EventHub consumes the EVENTS stream only while someone wants events', () => {
  afterEach(() => jest.useRealTimers());

  it('starts no consumer while nobody wants events', async () => {
    const { bus, created } = fakeBus();
    const hub = new EventHub(bus, silentLogger);
    hub.onApplicationBootstrap();
    hub.on(
      () => {},
      () => false,
    );
    await settle();
    expect(created).toHaveLength(0);
    expect(hub.live).toBe(false);
    hub.onModuleDestroy();
  });

  it('starts at the moment it was first wanted, and stops after a while without listeners', async () => {
    jest.useFakeTimers({ now: new Date('2026-12-07T10:00:00.000Z') });
    const { bus, created, running } = fakeBus();
    const hub = new EventHub(bus, silentLogger);
    hub.onApplicationBootstrap();
    let clients = 0;
    hub.on(
      () => {},
      () => clients > 0,
    );
    clients = 1;
    hub.wake();
    await settle();
    expect(running()).toBe(1);
    expect(hub.live).toBe(true);
    expect(created[0]).toMatchObject({ deliver_policy: DeliverPolicy.StartTime, opt_start_time: '2026-12-07T09:59:59.750Z' });

    clients = 0;
    jest.advanceTimersByTime(20_000);
    expect(running()).toBe(1); // still within the idle grace
    jest.advanceTimersByTime(12_000);
    expect(running()).toBe(0);
    expect(hub.live).toBe(false);

    // wanted again later: a new consumer from that moment
    clients = 1;
    hub.wake();
    await settle();
    expect(running()).toBe(1);
    expect(created[1]).toMatchObject({ opt_start_time: '2026-12-07T10:00:31.750Z' });
    hub.onModuleDestroy();
    expect(running()).toBe(0);
  });

  it('ensureLive starts the consumer before any listener wants, and says false while the stream is missing', async () => {
    const { bus, running, fail } = fakeBus();
    const hub = new EventHub(bus, silentLogger);
    fail(true);
    await expect(hub.ensureLive()).resolves.toBe(false);
    fail(false);
    await expect(hub.ensureLive()).resolves.toBe(true);
    expect(running()).toBe(1);
    await expect(hub.ensureLive()).resolves.toBe(true);
    expect(running()).toBe(1);
    hub.onModuleDestroy();
  });
});
