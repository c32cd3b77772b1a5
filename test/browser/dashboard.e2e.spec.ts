/**
 * The dashboard in real headless Chromium (Debian's `chromium`, driven by playwright-core): log in
 * with an API key, see the agent grid update live from the event stream, resolve a conflict, toggle
 * a runtime flag, see an alert fire, and check the page on a phone-sized screen. Screenshots go to
 * test-artifacts/screenshots/. The gateway runs in-process on the real NATS and Postgres; the
 * services behind it are stand-ins on the bus answering the real contract commands (validated on
 * both sides), so the test pins the dashboard and the gateway, not the other services' logic.
 *
 * Needs /usr/bin/chromium (apt-get install -y chromium) or CHROMIUM_PATH.
 */
import {
  AgentCommands,
  type AgentDto,
  ConflictCommands,
  type ConflictDto,
  EVENTS_WILDCARD,
  EventMessages,
  type MeshEventDto,
  QueueCommands,
  STREAMS,
  WorkflowCommands,
  type WorkflowDto,
  type WorkflowNodeStatusDto,
} from '@swarm-mesh/contracts';
import { ensureStream, FlagStore, type MeshBus } from '@swarm-mesh/messaging';
import { type RunningService, runService } from '@swarm-mesh/service-kit';
import {
  cleanupNamespace,
  connectTestBus,
  createTestDatabase,
  eventually,
  randomNamespace,
  type TestDatabase,
  testNatsUrl,
} from '@swarm-mesh/testing';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { gatewayDefinition } from '../../services/gateway/src/gateway.definition';
import { agentFixture, queueFixture } from '../../services/gateway/test/fixtures';

jest.mock('content-disposition', () => ({ create: (name: string) => `attachment; filename="${name}"` }));

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(__dirname, '..', '..', 'test-artifacts', 'screenshots');
const ADMIN = `admin-${randomBytes(12).toString('hex')}`;
const CONFLICT_ID = randomUUID();
const WORKFLOW_ID = randomUUID();
const NODE_TASKS: Record<string, string> = { fetch: randomUUID(), analyse: randomUUID(), write: randomUUID() };

let ns: string;
let db: TestDatabase;
let bus: MeshBus;
let gw: RunningService;
let context: BrowserContext;
let page: Page;
let profile: string;
let operatorKey: string;
let operatorId: string;

/** What the stand-in coordinator reports. */
const agents = new Map<string, AgentDto>();
let conflict: ConflictDto;
let workflow: WorkflowDto;

function node(key: string, dependsOn: string[], state: 'pending' | 'queued' | 'running' | 'succeeded'): WorkflowNodeStatusDto {
  return {
    key,
    taskId: NODE_TASKS[key]!,
    capability: 'data.fetch',
    state,
    taskState: state,
    dependsOn,
    attempt: state === 'pending' ? 0 : 1,
  };
}

/** A running three-node workflow, `fetch` → `analyse` → `write`, with the given node states. */
function setWorkflow(fetch: 'running' | 'succeeded', analyse: 'pending' | 'running', write: 'pending'): void {
  const nodes = [node('fetch', [], fetch), node('analyse', ['fetch'], analyse), node('write', ['analyse'], write)];
  const count = (st: string): number => nodes.filter((n) => n.state === st).length;
  const now = new Date().toISOString();
  workflow = {
    id: WORKFLOW_ID,
    tenantId: 'default',
    name: 'weekly report',
    state: 'running',
    failurePolicy: 'fail_fast',
    progress: {
      total: 3,
      succeeded: count('succeeded'),
      failed: 0,
      cancelled: 0,
      active: count('running'),
      pending: count('pending'),
      awaitingApproval: 0,
      needsReview: 0,
      percent: count('succeeded') / 3,
    },
    labels: {},
    createdAt: now,
    updatedAt: now,
    nodes,
  };
}
const resolveCalls: Array<{ action: string; resolvedBy: string }> = [];

async function publish(events: MeshEventDto[]): Promise<void> {
  await bus.publishDurable(EventMessages.tasks, { source: 'coordinator', events }, { msgId: randomUUID() });
}

async function shot(p: Page, name: string): Promise<void> {
  await p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  mkdirSync(SHOTS, { recursive: true });
  ns = randomNamespace('br');
  db = await createTestDatabase();
  bus = await connectTestBus({ namespace: ns, identity: 'coordinator' });
  await ensureStream(bus, { name: STREAMS.EVENTS, subjects: [EVENTS_WILDCARD], retention: 'limits', maxAgeMs: 600_000 });
  agents.set('fetcher-1', agentFixture('default', 'fetcher-1', { tier: 'specialist', capabilities: ['data.fetch'] }));
  conflict = {
    id: CONFLICT_ID,
    tenantId: 'default',
    kind: 'over_subscription',
    status: 'open',
    poolId: randomUUID(),
    subject: { pool: 'openai' },
    evidence: { demand: 12, capacity: 8 },
    detectedAt: new Date().toISOString(),
    resolvedAt: null,
    resolutions: [],
  };
  setWorkflow('running', 'pending', 'pending');
  bus.handle(
    WorkflowCommands.list,
    () => {
      const { nodes: _n, ...summary } = workflow;
      return { items: [summary], nextCursor: null };
    },
    { queue: 'coordinator' },
  );
  bus.handle(WorkflowCommands.get, () => workflow, { queue: 'coordinator' });
  bus.handle(AgentCommands.list, () => ({ items: [...agents.values()], nextCursor: null }), { queue: 'coordinator' });
  bus.handle(QueueCommands.depths, () => ({ items: [queueFixture('data.fetch')] }), { queue: 'coordinator' });
  bus.handle(ConflictCommands.list, () => ({ items: [conflict], nextCursor: null }), { queue: 'conflict-resolver' });
  bus.handle(
    ConflictCommands.resolve,
    (req) => {
      resolveCalls.push({ action: req.resolution.action, resolvedBy: req.resolvedBy });
      const now = new Date().toISOString();
      conflict = {
        ...conflict,
        status: 'resolved',
        resolvedAt: now,
        resolutions: [{ id: randomUUID(), policy: 'manual', actions: [], resolvedBy: req.resolvedBy, createdAt: now }],
      };
      return conflict;
    },
    { queue: 'conflict-resolver' },
  );
  gw = await runService(gatewayDefinition, {
    NATS_URL: testNatsUrl(),
    SWARM_NAMESPACE: ns,
    DATABASE_URL: db.url,
    DB_POOL_MAX: '4',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    LOG_LEVEL: 'error',
    SWARM_ADMIN_API_KEY: ADMIN,
    GATEWAY_ALERT_TICK_MS: '50',
  });
  const created = await fetch(`${gw.url}/api/v1/api-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'dashboard operator', role: 'operator' }),
  });
  const body = (await created.json()) as { key: string; apiKey: { id: string } };
  operatorKey = body.key;
  operatorId = body.apiKey.id;
  profile = mkdtempSync(join(tmpdir(), 'swarm-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
});

afterAll(async () => {
  await context?.close().catch(() => {});
  if (profile) rmSync(profile, { recursive: true, force: true });
  await gw?.stop();
  if (bus) {
    await cleanupNamespace(bus).catch(() => {});
    await bus.close();
  }
  await db?.drop();
});

describe('dashboard in headless Chromium', () => {
  it('refuses a wrong key, logs in with a good one and goes live', async () => {
    await page.goto(gw.url);
    await page.waitForSelector('#key');
    await shot(page, '01-login');
    await page.fill('#key', 'sm_wrongkey_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    await page.click('#login');
    await page.waitForSelector('#login-error:has-text("not accepted")');
    await page.fill('#key', operatorKey);
    await page.click('#login');
    await page.waitForSelector('#who:has-text("tenant default · operator")');
    await page.waitForSelector('#live[data-live="true"]', { timeout: 15_000 });
  });

  it('shows the agent grid and updates it live from the event stream', async () => {
    await page.waitForSelector('[data-agent-id="fetcher-1"][data-state="healthy"]');
    await page.waitForSelector('#panel-queues [data-queue="data.fetch"]');
    await shot(page, '02-dashboard');
    // the coordinator's view changes and it says so on the EVENTS stream; no reload
    agents.set('fetcher-1', { ...agents.get('fetcher-1')!, state: 'draining', load: { running: 3, freeSlots: 1 } });
    agents.set('writer-2', agentFixture('default', 'writer-2', { domain: 'content', tier: 'microtask', capabilities: ['content.write'] }));
    await publish([
      {
        type: 'agent.state_changed',
        ts: new Date().toISOString(),
        tenantId: 'default',
        data: { agentId: 'fetcher-1', from: 'healthy', to: 'draining' },
      },
      { type: 'agent.registered', ts: new Date().toISOString(), tenantId: 'default', data: { agentId: 'writer-2' } },
      {
        type: 'task.running',
        ts: new Date().toISOString(),
        tenantId: 'default',
        data: { taskId: randomUUID(), capability: 'data.fetch', agentId: 'fetcher-1' },
      },
    ]);
    await page.waitForSelector('[data-agent-id="fetcher-1"][data-state="draining"]', { timeout: 15_000 });
    await page.waitForSelector('[data-agent-id="writer-2"][data-state="healthy"]');
    await page.waitForSelector('#panel-flow [data-event="task.running"]');
    await shot(page, '03-agents-live');
  });

  it('resolves a conflict', async () => {
    await page.waitForSelector(`[data-conflict-id="${CONFLICT_ID}"][data-state="open"]`);
    // a choice survives the panel's live re-render (conflict events reload it)
    await page.selectOption(`[data-resolution-for="${CONFLICT_ID}"]`, 'dismiss');
    await page.$eval(`[data-conflict-id="${CONFLICT_ID}"]`, (el) => el.setAttribute('data-before-reload', ''));
    await publish([{ type: 'conflict.detected', ts: new Date().toISOString(), tenantId: 'default', data: { conflictId: randomUUID() } }]);
    await page.waitForSelector(`[data-conflict-id="${CONFLICT_ID}"]:not([data-before-reload])`, { timeout: 15_000 });
    expect(await page.inputValue(`[data-resolution-for="${CONFLICT_ID}"]`)).toBe('dismiss');
    await page.selectOption(`[data-resolution-for="${CONFLICT_ID}"]`, 'accept');
    await page.click(`[data-resolve="${CONFLICT_ID}"]`);
    await page.waitForSelector(`[data-conflict-id="${CONFLICT_ID}"][data-state="resolved"]`, { timeout: 15_000 });
    expect(resolveCalls).toEqual([{ action: 'accept', resolvedBy: `api-key:${operatorId}` }]);
    await shot(page, '04-conflict-resolved');
  });

  it('toggles a runtime flag; every service sees it', async () => {
    const watcher = await FlagStore.open(bus);
    try {
      const before = watcher.isEnabled('scaling.predictive');
      const box = page.locator('input[data-flag="scaling.predictive"]');
      expect(await box.isChecked()).toBe(before);
      await box.click();
      await eventually(() => watcher.isEnabled('scaling.predictive') === !before, { description: 'flag changed in NATS KV' });
      await page.waitForSelector(`input[data-flag="scaling.predictive"]${!before ? ':checked' : ':not(:checked)'}`);
      await shot(page, '05-flag-toggled');
    } finally {
      watcher.stop();
    }
  });

  it('shows a fired alert live', async () => {
    const rule = await fetch(`${gw.url}/api/v1/alerts/rules`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'agent died', kind: 'agent_died', cooldownMs: 0, channels: [] }),
    });
    expect(rule.status).toBe(201);
    await eventually(
      async () => {
        await publish([
          {
            type: 'agent.state_changed',
            ts: new Date().toISOString(),
            tenantId: 'default',
            data: { agentId: 'writer-2', from: 'unresponsive', to: 'dead' },
          },
        ]);
        return (await page.locator('#panel-alerts [data-alert-id]').count()) > 0;
      },
      { description: 'alert on the dashboard', intervalMs: 500, timeoutMs: 15_000 },
    );
    await shot(page, '05b-alert');
  });

  it('shows a running workflow as a DAG whose node states update live', async () => {
    await page.waitForSelector(`[data-dag="${WORKFLOW_ID}"] [data-node-id="fetch"][data-state="running"]`);
    await page.waitForSelector(`[data-dag="${WORKFLOW_ID}"] [data-node-id="analyse"][data-state="pending"]`);
    await shot(page, '06-workflow-running');
    setWorkflow('succeeded', 'running', 'pending');
    await publish([
      {
        type: 'task.succeeded',
        ts: new Date().toISOString(),
        tenantId: 'default',
        data: { taskId: NODE_TASKS.fetch, workflowId: WORKFLOW_ID },
      },
      {
        type: 'task.running',
        ts: new Date().toISOString(),
        tenantId: 'default',
        data: { taskId: NODE_TASKS.analyse, workflowId: WORKFLOW_ID },
      },
    ]);
    await page.waitForSelector(`[data-dag="${WORKFLOW_ID}"] [data-node-id="fetch"][data-state="succeeded"]`, { timeout: 15_000 });
    await page.waitForSelector(`[data-dag="${WORKFLOW_ID}"] [data-node-id="analyse"][data-state="running"]`);
    expect(await page.locator(`[data-dag="${WORKFLOW_ID}"] path.edge`).count()).toBe(2);
    await shot(page, '07-workflow-live');
  });

  it('is usable on a phone-sized screen', async () => {
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(gw.url);
    // the key lives in sessionStorage: a new tab logs in again
    await phone.fill('#key', operatorKey);
    await phone.click('#login');
    await phone.waitForSelector('[data-agent-id="fetcher-1"]');
    const widths = await phone.evaluate(() => {
      // runs in the page (this file has no DOM typings)
      const w = globalThis as unknown as { innerWidth: number; document: { documentElement: { scrollWidth: number } } };
      return { doc: w.document.documentElement.scrollWidth, view: w.innerWidth };
    });
    expect(widths.doc).toBeLessThanOrEqual(widths.view + 1);
    const panel = await phone.locator('#panel-agents').boundingBox();
    expect(panel!.width).toBeLessThanOrEqual(390);
    await shot(phone, '08-phone');
    await phone.close();
  });
});
