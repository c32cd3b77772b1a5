import type { MeshBus } from '@swarm-mesh/messaging';
import type { ServiceConfig } from '@swarm-mesh/service-kit';
import { silentLogger } from '@swarm-mesh/telemetry';
import { cleanupNamespace, connectTestBus, eventually, randomNamespace } from '@swarm-mesh/testing';
import type { KV } from 'nats';
import type { AlertDeliveryService } from '../src/alerts/alert-delivery.service';
import { AlertEvaluator } from '../src/alerts/alert-evaluator.service';
import type { AlertStore } from '../src/alerts/alert-store';
import type { GatewayEnv } from '../src/gateway.env';
import { EventHub } from '../src/stream/event-hub.service';

/** The evaluator's lease on real NATS KV; its store and delivery are not used here. */
function evaluator(bus: MeshBus, owner: string, leaseMs: number): AlertEvaluator {
  const config = {
    instanceId: owner,
    extra: { GATEWAY_ALERT_LEASE_MS: leaseMs, GATEWAY_ALERT_TICK_MS: 60_000, GATEWAY_ALERTS_ENABLED: true },
  } as unknown as ServiceConfig<GatewayEnv>;
  const store = { enabledRules: () => Promise.resolve([]) } as unknown as AlertStore;
  return new AlertEvaluator(store, new EventHub(bus, silentLogger), {} as AlertDeliveryService, bus, silentLogger, config);
}

type Internals = { renewLease: () => Promise<void>; kv: KV };

describe('alert evaluator lease (NATS KV)', () => {
  let bus: MeshBus;
  const started: AlertEvaluator[] = [];

  beforeAll(async () => {
    bus = await connectTestBus({ namespace: randomNamespace() });
  });

  afterAll(async () => {
    for (const e of started) await e.onModuleDestroy();
    await cleanupNamespace(bus);
    await bus.close();
  });

  it('keeps the leadership through a failed renewal while its lease runs, and only one renewal runs at a time', async () => {
    const a = evaluator(bus, 'gw-a', 60_000);
    started.push(a);
    await a.onApplicationBootstrap();
    expect(a.isLeader).toBe(true);
    const internals = a as unknown as Internals;
    const realUpdate = internals.kv.update.bind(internals.kv);
    let updates = 0;
    let failNext = true;
    internals.kv.update = async (k, v, rev) => {
      updates++;
      if (failNext) {
        failNext = false;
        throw new Error('TIMEOUT');
      }
      return realUpdate(k, v, rev);
    };
    // a renewal whose KV answer never came: still the leader (nobody may take it before expiresAt)
    await internals.renewLease();
    expect(a.isLeader).toBe(true);
    // two renewals at once (a slow answer overlapping the next interval): the second one is skipped
    updates = 0;
    await Promise.all([internals.renewLease(), internals.renewLease()]);
    expect(updates).toBe(1);
    expect(a.isLeader).toBe(true);
    // another replica cannot take over meanwhile
    const b = evaluator(bus, 'gw-b', 60_000);
    started.push(b);
    await b.onApplicationBootstrap();
    expect(b.isLeader).toBe(false);
    internals.kv.update = realUpdate;
  });

  it('gives the leadership up once its lease ran out without a renewal', async () => {
    const ns = await connectTestBus({ namespace: randomNamespace() });
    const a = evaluator(ns, 'gw-c', 300);
    try {
      await a.onApplicationBootstrap();
      expect(a.isLeader).toBe(true);
      const internals = a as unknown as Internals;
      internals.kv.update = () => Promise.reject(new Error('TIMEOUT'));
      await eventually(() => !a.isLeader, { description: 'the lease to lapse', timeoutMs: 5_000 });
    } finally {
      await a.onModuleDestroy();
      await cleanupNamespace(ns);
      await ns.close();
    }
  });
});
