import { silentLogger } from '@swarm-mesh/telemetry';
import { cleanupNamespace, connectTestBus, eventually, randomNamespace } from '@swarm-mesh/testing';
import type { MeshBus } from '../src/mesh-bus';
import { LeaderLease } from '../src/leader-lease';

describe('LeaderLease (NATS KV)', () => {
  let bus: MeshBus;

  beforeAll(async () => {
    bus = await connectTestBus({ namespace: randomNamespace() });
  });

  afterAll(async () => {
    await cleanupNamespace(bus);
    await bus.close();
  });

  it('one holder at a time; a silent holder is replaced after the TTL and learns it lost', async () => {
    const a = new LeaderLease(bus, silentLogger, { key: 'k1', instanceId: 'a', ttlMs: 600, renewEveryMs: 100 });
    const b = new LeaderLease(bus, silentLogger, { key: 'k1', instanceId: 'b', ttlMs: 600, renewEveryMs: 100 });
    const tokenA = await a.acquire();
    let bWon = false;
    const bAcquired = b.acquire().then((t) => {
      bWon = true;
      return t;
    });
    // b cannot win while a renews (a's revision moves on with every renewal)
    await eventually(() => a.token >= tokenA + 3, { description: 'a to renew three times' });
    expect(bWon).toBe(false);
    // a goes silent (process frozen): stop its renewals without releasing
    let aLost = false;
    a.onLost(() => (aLost = true));
    (a as unknown as { stopRenewing: () => void }).stopRenewing();
    const tokenB = await bAcquired;
    expect(tokenB).toBeGreaterThan(tokenA);
    // a wakes up and tries to renew with its old revision: refused, it learns it lost
    (a as unknown as { startRenewing: (v: string) => void }).startRenewing('{}');
    await eventually(() => aLost, { description: 'the deposed holder notices' });
    expect(a.isLeader).toBe(false);
    expect(b.isLeader).toBe(true);
    await b.release();
  });

  it('a graceful release hands over at once', async () => {
    const a = new LeaderLease(bus, silentLogger, { key: 'k2', instanceId: 'a', ttlMs: 60_000 });
    const b = new LeaderLease(bus, silentLogger, { key: 'k2', instanceId: 'b', ttlMs: 60_000, renewEveryMs: 50 });
    await a.acquire();
    const won = b.acquire();
    await a.release();
    await expect(won).resolves.toBeGreaterThan(0);
    await b.release();
  });
});
