import { silentLogger } from '@swarm-mesh/telemetry';
import { cleanupNamespace, connectTestBus, eventually, randomNamespace } from '@swarm-mesh/testing';
import type { KV } from 'nats';
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

  it('a holder stalled past the TTL takes its lease again, even when the answer to that is lost', async () => {
    const a = new LeaderLease(bus, silentLogger, { key: 'k3', instanceId: 'a', ttlMs: 600, renewEveryMs: 100 });
    const tokenA = await a.acquire();
    let aLost = false;
    a.onLost(() => (aLost = true));
    const internals = a as unknown as { stopRenewing: () => void; startRenewing: (v: string) => void; kv: KV };
    // the process stalls (CPU starvation) until its entry expired
    internals.stopRenewing();
    await eventually(async () => (await internals.kv.get('k3')) === null, { description: 'the entry to expire' });
    // it wakes up; its re-creation lands in NATS but the reply does not come back in time
    const realCreate = internals.kv.create.bind(internals.kv);
    let creates = 0;
    internals.kv.create = async (key, data) => {
      creates++;
      await realCreate(key, data);
      throw new Error('TIMEOUT');
    };
    internals.startRenewing(JSON.stringify({ instanceId: 'a' }));
    await eventually(() => creates > 0 && a.token > tokenA + 2, { description: 'a to adopt its new entry and renew it' });
    internals.kv.create = realCreate;
    expect(aLost).toBe(false);
    expect(a.isLeader).toBe(true);
    // and another replica still cannot take it
    const b = new LeaderLease(bus, silentLogger, { key: 'k3', instanceId: 'b', ttlMs: 600, renewEveryMs: 100 });
    let bWon = false;
    void b.acquire().then(() => (bWon = true));
    const at = a.token;
    await eventually(() => a.token >= at + 3, { description: 'a to keep renewing' });
    expect(bWon).toBe(false);
    await a.release();
    await eventually(() => bWon, { description: 'b to take over after the release' });
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
