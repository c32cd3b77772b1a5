/**
 * Issue #5 contention on real NATS and Postgres: weighted fair share between tenants, preemption
 * of LOW work for a CRITICAL task, conflicts with their resolutions (automatic and by hand), and
 * reservations honoured inside their window and lent outside it.
 * Build first: `npx tsc -b tsconfig.build.json`.
 */
import type { ConflictDto, ConflictPageDto, PolicyListDto, PoolDto, ReservationDto } from '@swarm-mesh/contracts';
import { eventually } from '@swarm-mesh/testing';
import { aborted, type E2eMesh, gate } from './support/e2e-mesh';
import { must, settle, sleepMs, startResourcesMesh, submit } from './support/resources-mesh';

let mesh: E2eMesh;

beforeAll(async () => {
  mesh = await startResourcesMesh();
});

afterAll(async () => {
  await mesh?.stop();
});

/** Running attempts per tenant, and the most seen at once. */
class Gauge {
  readonly now = new Map<string, number>();
  readonly max = new Map<string, number>();
  readonly done = new Map<string, number>();
  enter(t: string): void {
    const n = (this.now.get(t) ?? 0) + 1;
    this.now.set(t, n);
    this.max.set(t, Math.max(this.max.get(t) ?? 0, n));
  }
  leave(t: string, ok: boolean): void {
    this.now.set(t, (this.now.get(t) ?? 1) - 1);
    if (ok) this.done.set(t, (this.done.get(t) ?? 0) + 1);
  }
}

it('two tenants weighted 3:1 on one pool get throughput within 10 % of 3:1', async () => {
  const keyA = await mesh.createApiKey('fair-a');
  const keyB = await mesh.createApiKey('fair-b');
  const g = new Gauge();
  for (const t of ['fair-a', 'fair-b'])
    await mesh.agent(
      { id: `${t}-agent`, tenantId: t, domain: 'data', capabilities: ['fair.work'], concurrency: 8 },
      {
        'fair.work': async (ctx) => {
          g.enter(t);
          let ok = false;
          try {
            await sleepMs(60, ctx.signal);
            ok = true;
          } finally {
            g.leave(t, ok);
          }
          return {};
        },
      },
    );
  const pool = await must<PoolDto>(
    mesh,
    'POST',
    '/resources/pools',
    { name: 'fair', provider: 'sim', model: 'm', capabilities: ['fair.work'], tenants: ['*'], limits: { concurrency: 8 } },
    201,
  );
  await must(mesh, 'PUT', `/resources/pools/${pool.id}/policy`, { kind: 'fair_share', weights: { 'fair-a': 3, 'fair-b': 1 } }, 200);
  const [idsA, idsB] = await Promise.all([
    submit(
      mesh,
      Array.from({ length: 400 }, () => ({ capability: 'fair.work' })),
      keyA,
    ),
    submit(
      mesh,
      Array.from({ length: 400 }, () => ({ capability: 'fair.work' })),
      keyB,
    ),
  ]);
  // after a warm-up, measure while both tenants have a backlog
  await eventually(() => (g.done.get('fair-a') ?? 0) >= 30, { timeoutMs: 30_000, description: 'warm-up' });
  const a1 = g.done.get('fair-a') ?? 0;
  const b1 = g.done.get('fair-b') ?? 0;
  await eventually(() => (g.done.get('fair-a') ?? 0) - a1 >= 300, { timeoutMs: 60_000, description: '300 more of tenant a' });
  const da = (g.done.get('fair-a') ?? 0) - a1;
  const db = (g.done.get('fair-b') ?? 0) - b1;
  const ratio = da / db;
  process.stdout.write(`fair share: tenant a ${da}, tenant b ${db}, ratio ${ratio.toFixed(3)} (target 3)\n`);
  expect(ratio).toBeGreaterThanOrEqual(2.7);
  expect(ratio).toBeLessThanOrEqual(3.3);
  // the pool never ran more than its 8 slots
  expect((g.max.get('fair-a') ?? 0) + (g.max.get('fair-b') ?? 0)).toBeLessThanOrEqual(16);
  const [ta, tb] = await Promise.all([settle(mesh, idsA, keyA, 120_000), settle(mesh, idsB, keyB, 120_000)]);
  expect([...ta, ...tb].every((t) => t.state === 'succeeded')).toBe(true);
});

describe('preemption', () => {
  it('a CRITICAL task arriving at a full pool preempts a LOW one; the LOW one completes later', async () => {
    const release = gate();
    let lowStarts = 0;
    await mesh.agent(
      { id: 'pre-agent', domain: 'quality', capabilities: ['pre.work'], concurrency: 4 },
      {
        'pre.work': async (ctx) => {
          if (ctx.input.kind === 'low') {
            lowStarts++;
            await Promise.race([release.promise, aborted(ctx.signal)]);
            if (ctx.signal.aborted) throw new Error('preempted');
          }
          return { kind: ctx.input.kind };
        },
      },
    );
    const pool = await must<PoolDto>(
      mesh,
      'POST',
      '/resources/pools',
      { name: 'pre', provider: 'sim', model: 'm', capabilities: ['pre.work'], limits: { concurrency: 2 } },
      201,
    );
    const lows = await submit(mesh, [
      { capability: 'pre.work', priority: 'LOW', input: { kind: 'low' } },
      { capability: 'pre.work', priority: 'LOW', input: { kind: 'low' } },
    ]);
    await eventually(() => lowStarts === 2, { description: 'both LOW tasks running' });
    const [critical] = await submit(mesh, [{ capability: 'pre.work', priority: 'CRITICAL', input: { kind: 'critical' } }]);
    const c = await mesh.waitState(critical!, 'succeeded', 30_000);
    expect(c.attempts).toHaveLength(1);
    const preempted = (await Promise.all(lows.map((id) => mesh.task(id)))).filter((t) => t.attempts.some((a) => a.outcome === 'preempted'));
    expect(preempted).toHaveLength(1);
    release.open();
    const done = await settle(mesh, lows);
    expect(done.map((t) => t.state)).toEqual(['succeeded', 'succeeded']);
    // a preemption is not a failed attempt
    const p = done.find((t) => t.id === preempted[0]!.id)!;
    expect(p.attempts.map((a) => a.outcome)).toEqual(['preempted', 'succeeded']);
    // the conflict is in the API with its resolution
    const page = await must<ConflictPageDto>(mesh, 'GET', `/resources/conflicts?poolId=${pool.id}&kind=priority_inversion`, undefined, 200);
    const conflict = page.items.find((x) => x.status === 'resolved');
    expect(conflict?.resolutions[0]?.resolvedBy).toBe('conflict-resolver');
    expect(conflict?.resolutions[0]?.actions).toContainEqual(expect.objectContaining({ kind: 'preempt', taskId: preempted[0]!.id }));
  });

  it('with preemption off for the pool the conflict stays open; a manual resolution takes effect', async () => {
    const release = gate();
    let lowStarts = 0;
    await mesh.agent(
      { id: 'man-agent', domain: 'quality', capabilities: ['man.work'], concurrency: 4 },
      {
        'man.work': async (ctx) => {
          if (ctx.input.kind === 'low') {
            lowStarts++;
            await Promise.race([release.promise, aborted(ctx.signal)]);
            if (ctx.signal.aborted) throw new Error('preempted');
          }
          return {};
        },
      },
    );
    const pool = await must<PoolDto>(
      mesh,
      'POST',
      '/resources/pools',
      { name: 'man', provider: 'sim', model: 'm', capabilities: ['man.work'], limits: { concurrency: 1 } },
      201,
    );
    await must(mesh, 'PUT', `/resources/pools/${pool.id}/policy`, { kind: 'priority_aging', preemption: false }, 200);
    await must(mesh, 'PUT', '/resources/policies/default', { kind: 'priority_aging' }, 200);
    // the tenant's policies, paged one at a time: its default first, then by pool id, each once
    const whole = await must<PolicyListDto>(mesh, 'GET', '/resources/policies', undefined, 200);
    expect(whole.nextCursor).toBeNull();
    expect(whole.items[0]?.poolId ?? null).toBeNull();
    expect(whole.items.map((x) => x.poolId)).toContain(pool.id);
    const paged: (string | null | undefined)[] = [];
    let cursor: string | null | undefined = null;
    do {
      const page: PolicyListDto = await must<PolicyListDto>(
        mesh,
        'GET',
        `/resources/policies?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        undefined,
        200,
      );
      expect(page.items.length).toBe(1);
      paged.push(page.items[0]?.poolId);
      cursor = page.nextCursor;
    } while (cursor);
    expect(paged).toEqual(whole.items.map((x) => x.poolId));
    const onePool = await must<PolicyListDto>(mesh, 'GET', `/resources/policies?poolId=${pool.id}&limit=5`, undefined, 200);
    expect(onePool.items.map((x) => x.kind)).toEqual(['priority_aging']);
    const [low] = await submit(mesh, [{ capability: 'man.work', priority: 'LOW', input: { kind: 'low' } }]);
    await eventually(() => lowStarts === 1, { description: 'the LOW task running' });
    const [high] = await submit(mesh, [{ capability: 'man.work', priority: 'HIGH', input: { kind: 'high' } }]);
    const open = await eventually(
      async () => {
        const page = await must<ConflictPageDto>(mesh, 'GET', `/resources/conflicts?poolId=${pool.id}&status=open`, undefined, 200);
        return page.items.find((x) => x.kind === 'priority_inversion');
      },
      { timeoutMs: 15_000, description: 'an open priority inversion' },
    );
    expect((await mesh.task(high!)).state).toBe('queued');
    const resolved = await must<ConflictDto>(
      mesh,
      'POST',
      `/resources/conflicts/${open.id}/resolve`,
      { action: 'preempt', note: 'by hand' },
      200,
    );
    expect(resolved.status).toBe('resolved');
    expect(resolved.resolutions.at(-1)).toMatchObject({ policy: 'manual', resolvedBy: 'api-key:bootstrap' });
    expect(resolved.resolutions.at(-1)!.actions).toContainEqual(expect.objectContaining({ kind: 'preempt', taskId: low }));
    await mesh.waitState(high!, 'succeeded', 30_000);
    release.open();
    const [l] = await settle(mesh, [low!]);
    expect(l!.attempts.map((a) => a.outcome)).toEqual(['preempted', 'succeeded']);
    // resolving twice is refused
    const again = await mesh.api('POST', `/resources/conflicts/${open.id}/resolve`, { action: 'dismiss' });
    expect(again.status).toBe(409);
  });
});

it('a reservation is honoured inside its window and its capacity is used by others outside it', async () => {
  const keyOwner = await mesh.createApiKey('res-owner');
  const keyOther = await mesh.createApiKey('res-other');
  const g = new Gauge();
  for (const t of ['res-owner', 'res-other'])
    await mesh.agent(
      { id: `${t}-agent`, tenantId: t, domain: 'data', capabilities: ['res.work'], concurrency: 4 },
      {
        'res.work': async (ctx) => {
          g.enter(t);
          let ok = false;
          try {
            await sleepMs(80, ctx.signal);
            ok = true;
          } finally {
            g.leave(t, ok);
          }
          return {};
        },
      },
    );
  // the pool belongs to the operator (default tenant) and is shared
  const pool = await must<PoolDto>(
    mesh,
    'POST',
    '/resources/pools',
    { name: 'res', provider: 'sim', model: 'm', capabilities: ['res.work'], tenants: ['*'], limits: { concurrency: 4 } },
    201,
  );
  const startsAt = Date.now() + 2500;
  const r = await must<ReservationDto>(
    mesh,
    'POST',
    '/resources/reservations',
    { poolId: pool.id, startsAt: new Date(startsAt).toISOString(), endsAt: new Date(startsAt + 120_000).toISOString(), slots: 3 },
    201,
    keyOwner,
  );
  expect(r.active).toBe(false);
  // outside the window the other tenant uses the whole pool, reserved part included
  const others = await submit(
    mesh,
    Array.from({ length: 400 }, () => ({ capability: 'res.work' })),
    keyOther,
  );
  await eventually(() => (g.max.get('res-other') ?? 0) === 4, { description: 'the other tenant on all 4 slots' });
  expect(Date.now()).toBeLessThan(startsAt);
  // inside the window the owner gets its 3 slots back, the other keeps the rest
  await eventually(
    async () => (await must<ReservationDto>(mesh, 'GET', `/resources/reservations/${r.id}`, undefined, 200, keyOwner)).active,
    {
      timeoutMs: 10_000,
      description: 'the reservation active',
    },
  );
  const mine = await submit(
    mesh,
    Array.from({ length: 60 }, () => ({ capability: 'res.work' })),
    keyOwner,
  );
  await eventually(() => (g.now.get('res-owner') ?? 0) === 3, { timeoutMs: 15_000, description: 'the owner on its 3 reserved slots' });
  g.max.set('res-other', g.now.get('res-other') ?? 0);
  await eventually(() => (g.done.get('res-owner') ?? 0) >= 30, { timeoutMs: 30_000, description: '30 of the owner’s tasks' });
  expect(g.max.get('res-other')).toBeLessThanOrEqual(1);
  const done = [...(await settle(mesh, mine, keyOwner, 120_000)), ...(await settle(mesh, others, keyOther, 120_000))];
  expect(done.every((t) => t.state === 'succeeded')).toBe(true);
});
