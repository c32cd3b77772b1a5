/**
 * The dashboard in real headless Chromium against the real mesh: gateway, coordinator, resource
 * allocator and conflict resolver as processes on the real NATS and Postgres, with an SDK agent.
 * An operator logs in, sees the agent, watches a running workflow's DAG change state live as its
 * nodes finish, sees the pool's utilisation charted, and resolves a real priority-inversion
 * conflict by hand (the panel learns of it from the resolver's `conflict.*` events), which
 * preempts the LOW task so the HIGH one runs. (dashboard.e2e.spec.ts pins the page's details with stand-in
 * services; this file shows the same panels on the services' own data.)
 * Screenshots go to test-artifacts/screenshots/mesh-*.png.
 *
 * Needs /usr/bin/chromium (apt-get install -y chromium) or CHROMIUM_PATH.
 */
import type { ConflictPageDto, PoolDto, WorkflowDto } from '@swarm-mesh/contracts';
import { eventually } from '@swarm-mesh/testing';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import type { E2eMesh } from '../e2e/support/e2e-mesh';
import { must, startResourcesMesh, submit } from '../e2e/support/resources-mesh';

jest.setTimeout(120_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(__dirname, '..', '..', 'test-artifacts', 'screenshots');

/** A latch a handler waits on until the test opens it. */
class Latch {
  private resolve!: () => void;
  readonly promise = new Promise<void>((r) => (this.resolve = r));
  open(): void {
    this.resolve();
  }
}

function released(latch: Latch, signal: AbortSignal): Promise<void> {
  return Promise.race([
    latch.promise,
    new Promise<void>((_, reject) =>
      signal.addEventListener('abort', () => reject(new Error('aborted')), {
        once: true,
      }),
    ),
  ]);
}

let mesh: E2eMesh;
let context: BrowserContext;
let page: Page;
let profile: string;
const latches = { fetch: new Latch(), analyse: new Latch(), low: new Latch() };

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  mkdirSync(SHOTS, { recursive: true });
  mesh = await startResourcesMesh();
  await mesh.agent(
    { id: 'ui-agent', domain: 'data', capabilities: ['ui.fetch', 'ui.analyse', 'ui.contended'], concurrency: 4 },
    {
      'ui.fetch': async (ctx) => {
        await released(latches.fetch, ctx.signal);
        return { records: 3 };
      },
      'ui.analyse': async (ctx) => {
        await released(latches.analyse, ctx.signal);
        return { summary: 'ok' };
      },
      'ui.contended': async (ctx) => {
        if (ctx.input.kind === 'low') await released(latches.low, ctx.signal);
        return {};
      },
    },
  );
  profile = mkdtempSync(join(tmpdir(), 'swarm-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-dev-shm-usage'],
    viewport: { width: 1400, height: 1000 },
  });
  page = context.pages()[0] ?? (await context.newPage());
});

afterAll(async () => {
  for (const l of Object.values(latches)) l.open();
  await context?.close().catch(() => {});
  if (profile) rmSync(profile, { recursive: true, force: true });
  await mesh?.stop();
});

describe('dashboard on the real mesh', () => {
  it('logs in as an operator and shows the registered agent live', async () => {
    const operator = await mesh.createApiKey('default', 'operator');
    await page.goto(mesh.url);
    await page.waitForSelector('#key');
    await page.fill('#key', operator);
    await page.click('#login');
    await page.waitForSelector('#who:has-text("tenant default · operator")');
    await page.waitForSelector('#live[data-live="true"]', { timeout: 15_000 });
    await page.waitForSelector('[data-agent-id="ui-agent"][data-state="healthy"]', { timeout: 15_000 });
  });

  it('shows a running workflow whose DAG updates live as nodes finish', async () => {
    const r = await mesh.api<WorkflowDto>('POST', '/workflows', {
      name: 'ui pipeline',
      nodes: [
        { key: 'fetch', capability: 'ui.fetch' },
        { key: 'analyse', capability: 'ui.analyse', dependsOn: ['fetch'] },
      ],
    });
    expect(r.status).toBe(201);
    const wf = r.body.id;
    await page.waitForSelector(`[data-dag="${wf}"] [data-node-id="fetch"][data-state="running"]`, { timeout: 15_000 });
    await page.waitForSelector(`[data-dag="${wf}"] [data-node-id="analyse"][data-state="pending"]`);
    await page.screenshot({ path: join(SHOTS, 'mesh-01-workflow-running.png'), fullPage: true });
    // the coordinator runs the next node when the first succeeds; the page follows without a reload
    latches.fetch.open();
    await page.waitForSelector(`[data-dag="${wf}"] [data-node-id="fetch"][data-state="succeeded"]`, { timeout: 15_000 });
    await page.waitForSelector(`[data-dag="${wf}"] [data-node-id="analyse"][data-state="running"]`, { timeout: 15_000 });
    latches.analyse.open();
    await page.waitForSelector(`[data-dag="${wf}"] [data-node-id="analyse"][data-state="succeeded"]`, { timeout: 15_000 });
    await page.screenshot({ path: join(SHOTS, 'mesh-02-workflow-done.png'), fullPage: true });
    const done = await eventually(async () => {
      const w = await mesh.api<WorkflowDto>('GET', `/workflows/${wf}`);
      return w.body.state === 'succeeded' ? w.body : undefined;
    });
    expect(done.progress.succeeded).toBe(2);
  });

  it('resolves a real priority inversion by hand: the LOW task is preempted and the HIGH one runs', async () => {
    const pool = await must<PoolDto>(
      mesh,
      'POST',
      '/resources/pools',
      { name: 'ui-pool', provider: 'sim', model: 'm', capabilities: ['ui.contended'], limits: { concurrency: 1 } },
      201,
    );
    // no automatic preemption on this pool: the conflict waits for a person
    await must(mesh, 'PUT', `/resources/pools/${pool.id}/policy`, { kind: 'priority_aging', preemption: false }, 200);
    const [low] = await submit(mesh, [{ capability: 'ui.contended', priority: 'LOW', input: { kind: 'low' } }]);
    await mesh.waitState(low!, 'running', 15_000);
    const [high] = await submit(mesh, [{ capability: 'ui.contended', priority: 'HIGH', input: { kind: 'high' } }]);
    const conflict = await eventually(
      async () => {
        const p = await must<ConflictPageDto>(mesh, 'GET', `/resources/conflicts?poolId=${pool.id}&status=open`, undefined, 200);
        return p.items.find((c) => c.kind === 'priority_inversion');
      },
      { timeoutMs: 15_000, description: 'an open priority inversion' },
    );
    await page.waitForSelector(`[data-conflict-id="${conflict.id}"][data-state="open"]`, { timeout: 15_000 });
    // the allocator's monitoring charts the pool (polled every 5 s)
    await page.waitForSelector('#panel-resources path[data-series="ui-pool"]', { state: 'attached', timeout: 15_000 });
    await page.screenshot({ path: join(SHOTS, 'mesh-03-conflict-open.png'), fullPage: true });
    await page.selectOption(`[data-resolution-for="${conflict.id}"]`, 'preempt');
    await page.click(`[data-resolve="${conflict.id}"]`);
    await page.waitForSelector(`[data-conflict-id="${conflict.id}"][data-state="resolved"]`, { timeout: 15_000 });
    await page.screenshot({ path: join(SHOTS, 'mesh-04-conflict-resolved.png'), fullPage: true });
    // the resolution took effect in the services, by the operator's key
    await mesh.waitState(high!, 'succeeded', 30_000);
    const after = await must<ConflictPageDto>(mesh, 'GET', `/resources/conflicts?poolId=${pool.id}`, undefined, 200);
    const resolved = after.items.find((c) => c.id === conflict.id)!;
    expect(resolved.status).toBe('resolved');
    expect(resolved.resolutions.at(-1)).toMatchObject({ policy: 'manual' });
    expect(resolved.resolutions.at(-1)!.resolvedBy).toMatch(/^api-key:/);
    latches.low.open();
    const l = await mesh.waitState(low!, 'succeeded', 30_000);
    expect(l.attempts.map((a) => a.outcome)).toEqual(['preempted', 'succeeded']);
  });
});
