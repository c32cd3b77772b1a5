/**
 * The task REST API as a black-box user sees it: a gateway and a coordinator process, SDK agents
 * in this process, every call over HTTP with the bootstrap admin key.
 * Build first: `npx tsc -b tsconfig.build.json`.
 */
import { TaskError } from '@swarm-mesh/agent-sdk';
import type { DeadLetterDto, DeadLetterPageDto, QueueDepthsDto, SubmittedTaskDto, TaskDto, TaskPageDto } from '@swarm-mesh/contracts';
import { eventually } from '@swarm-mesh/testing';
import { aborted, type ApiErrorBody, type ApiResponse, E2eMesh, gate } from './support/e2e-mesh';

jest.setTimeout(120_000);

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let mesh: E2eMesh;

beforeAll(async () => {
  mesh = await E2eMesh.start();
  // one long-lived agent makes the capabilities below known to the coordinator
  await mesh.agent(
    { id: 'echo-1', domain: 'data', concurrency: 20 },
    {
      'e2e.echo': (ctx) => ({ echo: ctx.input, attempt: ctx.attempt }),
      'e2e.batch': (ctx) => ({ n: ctx.input.n }),
      'e2e.other': () => ({ other: true }),
    },
  );
  await mesh.agent({ id: 'pin-1', domain: 'data', concurrency: 2 }, { 'e2e.pinned': () => ({ pinned: true }) });
});

afterAll(async () => {
  await mesh?.stop();
});

/** Asserts the error shape `{code, message, details}` and returns the body. */
function expectError(res: ApiResponse, status: number, code: string): ApiErrorBody {
  const body = res.body as ApiErrorBody;
  try {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(Object.keys(body).sort()).toEqual(['code', 'details', 'message']);
    expect(body.code).toBe(code);
    expect(typeof body.message).toBe('string');
    expect(body.message.length).toBeGreaterThan(0);
    expect(typeof body.details).toBe('object');
  } catch (err) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${JSON.stringify(body)}\n${(err as Error).message}`);
  }
  return body;
}

function violationPaths(body: ApiErrorBody): string[] {
  return (body.details.violations ?? []).map((v) => v.path);
}

/** Every task id the admin's tenant can list. */
async function listedIds(): Promise<string[]> {
  const ids: string[] = [];
  for await (const t of mesh.client.listAll({ limit: 500 })) ids.push(t.id);
  return ids;
}

/** Runs `fn` and proves that it wrote nothing: same task rows, dead letters and listed tasks before and after. */
async function writesNothing(fn: () => Promise<void>): Promise<void> {
  const before = { rows: await mesh.taskRows(), dls: await mesh.deadLetterRows(), listed: await listedIds() };
  await fn();
  expect(await mesh.taskRows()).toBe(before.rows);
  expect(await mesh.deadLetterRows()).toBe(before.dls);
  expect(await listedIds()).toEqual(before.listed);
}

// ── 1. bad input ───────────────────────────────────────────────────────────

describe('bad input: a clear 4xx {code, message, details} and nothing written', () => {
  it('unknown capability → 422 UNKNOWN_CAPABILITY naming it', async () => {
    await writesNothing(async () => {
      const body = expectError(await mesh.api('POST', '/tasks', { capability: 'no.such.capability' }), 422, 'UNKNOWN_CAPABILITY');
      expect(body.details.capabilities).toEqual(['no.such.capability']);
    });
  });

  it('invalid priority → 400 VALIDATION_FAILED with the field path', async () => {
    await writesNothing(async () => {
      const body = expectError(await mesh.api('POST', '/tasks', { capability: 'e2e.echo', priority: 'URGENT' }), 400, 'VALIDATION_FAILED');
      expect(violationPaths(body)).toEqual(['priority']);
    });
  });

  it('input over 256 KiB of JSON → 413 PAYLOAD_TOO_LARGE', async () => {
    await writesNothing(async () => {
      const input = { blob: 'x'.repeat(300 * 1024) };
      const body = expectError(await mesh.api('POST', '/tasks', { capability: 'e2e.echo', input }), 413, 'PAYLOAD_TOO_LARGE');
      expect(body.details).toMatchObject({ path: 'input', limitBytes: 256 * 1024 });
      // in a batch the path names the task
      const batch = expectError(
        await mesh.api('POST', '/tasks/batch', { tasks: [{ capability: 'e2e.echo' }, { capability: 'e2e.echo', input }] }),
        413,
        'PAYLOAD_TOO_LARGE',
      );
      expect(batch.details.path).toBe('tasks.1.input');
    });
  });

  it('a batch too large for the mesh as a whole (each input within its limit) → 413 PAYLOAD_TOO_LARGE, not a retryable 503', async () => {
    await writesNothing(async () => {
      const tasks = Array.from({ length: 6 }, () => ({ capability: 'e2e.echo', input: { blob: 'x'.repeat(250 * 1024) } }));
      const body = expectError(await mesh.api('POST', '/tasks/batch', { tasks }), 413, 'PAYLOAD_TOO_LARGE');
      expect(body.details).toMatchObject({ path: 'tasks', sizeBytes: expect.any(Number), limitBytes: expect.any(Number) });
      expect(body.details.sizeBytes as number).toBeGreaterThan(body.details.limitBytes as number);
    });
  });

  it('malformed JSON body → 400 MALFORMED_JSON', async () => {
    await writesNothing(async () => {
      expectError(await mesh.api('POST', '/tasks', undefined, { raw: '{"capability": "e2e.echo",' }), 400, 'MALFORMED_JSON');
      expectError(await mesh.api('POST', '/tasks/batch', undefined, { raw: '{"tasks": [' }), 400, 'MALFORMED_JSON');
    });
  });

  it('JSON in: an empty JSON body is no body (a required one is missing); a form body is 415', async () => {
    await writesNothing(async () => {
      const empty = expectError(await mesh.api('POST', '/tasks', undefined, { raw: '' }), 400, 'VALIDATION_FAILED');
      expect(empty.message).not.toMatch(/JSON/);
      const form = await mesh.api('POST', '/tasks', undefined, {
        raw: 'capability=e2e.echo',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expectError(form, 415, 'VALIDATION_FAILED');
    });
  });

  it('strings Postgres cannot store (U+0000, an unpaired surrogate) → 400 VALIDATION_FAILED naming the path; submits sent with them still succeed', async () => {
    await writesNothing(async () => {
      const nul = expectError(
        await mesh.api('POST', '/tasks', { capability: 'e2e.echo', input: { s: 'a\u0000b' } }),
        400,
        'VALIDATION_FAILED',
      );
      expect(violationPaths(nul)).toEqual(['input.s']);
      const surrogate = expectError(
        await mesh.api('POST', '/tasks/batch', { tasks: [{ capability: 'e2e.echo', labels: { team: '\ud800' } }] }),
        400,
        'VALIDATION_FAILED',
      );
      expect(violationPaths(surrogate)).toEqual(['tasks.0.labels.team']);
      const key = expectError(
        await mesh.api('POST', '/tasks', { capability: 'e2e.echo', idempotencyKey: 'k\u0000' }),
        400,
        'VALIDATION_FAILED',
      );
      expect(violationPaths(key)).toEqual(['idempotencyKey']);
    });
    // sent at the same moment, so that they would share the coordinator's commit with a bad one
    const [bad, ...good] = await Promise.all([
      mesh.api('POST', '/tasks', { capability: 'e2e.echo', input: { s: '\u0000' } }),
      ...Array.from({ length: 10 }, (_, i) => mesh.api<TaskDto>('POST', '/tasks', { capability: 'e2e.echo', input: { i } })),
    ]);
    expectError(bad, 400, 'VALIDATION_FAILED');
    expect(good.map((r) => r.status)).toEqual(Array.from({ length: 10 }, () => 201));
  });

  it('a bad validation spec names its field: validation.… for POST /tasks, tasks.N.validation.… in a batch', async () => {
    await writesNothing(async () => {
      const bad = { capability: 'e2e.echo', validation: { forbiddenPatterns: ['('] } };
      const single = expectError(await mesh.api('POST', '/tasks', bad), 400, 'VALIDATION_FAILED');
      expect(violationPaths(single)).toEqual(['validation.forbiddenPatterns.0']);
      expect(single.message).not.toMatch(/tasks\.0/);
      const batch = expectError(
        await mesh.api('POST', '/tasks/batch', { tasks: [{ capability: 'e2e.echo' }, bad] }),
        400,
        'VALIDATION_FAILED',
      );
      expect(violationPaths(batch)).toEqual(['tasks.1.validation.forbiddenPatterns.0']);
    });
  });

  it('a task pinned to an agent that is not registered, or does not offer its capability, → 400 naming routing.agentId', async () => {
    await writesNothing(async () => {
      const ghost = expectError(
        await mesh.api('POST', '/tasks', { capability: 'e2e.echo', routing: { agentId: 'ghost-agent' } }),
        400,
        'VALIDATION_FAILED',
      );
      expect(ghost.details.violations).toEqual([
        { path: 'routing.agentId', message: 'no agent "ghost-agent" is registered', constraint: 'knownAgent' },
      ]);
      const other = expectError(
        await mesh.api('POST', '/tasks/batch', {
          tasks: [{ capability: 'e2e.echo' }, { capability: 'e2e.pinned', routing: { agentId: 'echo-1' } }],
        }),
        400,
        'VALIDATION_FAILED',
      );
      expect(other.details.violations).toEqual([
        expect.objectContaining({ path: 'tasks.1.routing.agentId', constraint: 'agentOffersCapability' }),
      ]);
    });
    const pinned = await mesh.api<TaskDto>('POST', '/tasks', { capability: 'e2e.pinned', routing: { agentId: 'pin-1' } });
    expect(pinned.status).toBe(201);
    expect((await mesh.waitState(pinned.body.id, 'succeeded')).attempts.map((a) => a.agentId)).toEqual(['pin-1']);
  });

  it('a route that takes no body refuses body fields (400 naming them); an empty object passes', async () => {
    await writesNothing(async () => {
      const id = '3f1c2b7a-9d4e-4f60-8a1b-2c3d4e5f6a7b';
      const stray = expectError(await mesh.api('POST', `/dead-letters/${id}/replay`, { input: { fixed: true } }), 400, 'VALIDATION_FAILED');
      expect(stray.details.violations).toEqual([{ path: 'input', message: 'unknown field "input"', constraint: 'whitelistValidation' }]);
      expectError(await mesh.api('POST', `/dead-letters/${id}/replay`, {}), 404, 'DEAD_LETTER_NOT_FOUND');
      expectError(await mesh.api('POST', `/dead-letters/${id}/replay`), 404, 'DEAD_LETTER_NOT_FOUND');
    });
  });

  it('unknown field → 400 VALIDATION_FAILED naming it (top level and nested)', async () => {
    await writesNothing(async () => {
      const top = expectError(await mesh.api('POST', '/tasks', { capability: 'e2e.echo', bogus: 1 }), 400, 'VALIDATION_FAILED');
      expect(violationPaths(top)).toContain('bogus');
      const nested = expectError(
        await mesh.api('POST', '/tasks', { capability: 'e2e.echo', retry: { maxAttempts: 2, retries: 3 } }),
        400,
        'VALIDATION_FAILED',
      );
      expect(violationPaths(nested)).toContain('retry.retries');
    });
  });

  it('wrong types → 400 VALIDATION_FAILED listing every bad field', async () => {
    await writesNothing(async () => {
      const body = expectError(
        await mesh.api('POST', '/tasks', {
          capability: 42,
          input: 'not an object',
          retry: { maxAttempts: 'three' },
          timeouts: { startToCloseMs: -5 },
          deadline: 'tomorrow',
        }),
        400,
        'VALIDATION_FAILED',
      );
      expect(violationPaths(body)).toEqual(
        expect.arrayContaining(['capability', 'input', 'retry.maxAttempts', 'timeouts.startToCloseMs', 'deadline']),
      );
      // a missing required field, an empty body and a non-object body are validation failures too
      const missing = expectError(await mesh.api('POST', '/tasks', { input: {} }), 400, 'VALIDATION_FAILED');
      expect(missing.details.violations).toEqual([{ path: 'capability', message: 'capability is required', constraint: 'isDefined' }]);
      expectError(await mesh.api('POST', '/tasks', undefined, { raw: '[1, 2]' }), 400, 'VALIDATION_FAILED');
      expectError(await mesh.api('POST', '/tasks/batch', { tasks: [] }), 400, 'VALIDATION_FAILED');
      expectError(await mesh.api('POST', '/tasks/batch', { tasks: 'all' }), 400, 'VALIDATION_FAILED');
    });
  });

  it('duplicate idempotency key → 409 DUPLICATE_IDEMPOTENCY_KEY with details.existingTaskId; the second submit writes nothing', async () => {
    const first = await mesh.api<TaskDto>('POST', '/tasks', { capability: 'e2e.echo', idempotencyKey: 'order-42', input: { a: 1 } });
    expect(first.status).toBe(201);
    await mesh.waitState(first.body.id, 'succeeded');
    await writesNothing(async () => {
      const body = expectError(
        await mesh.api('POST', '/tasks', { capability: 'e2e.echo', idempotencyKey: 'order-42', input: { a: 2 } }),
        409,
        'DUPLICATE_IDEMPOTENCY_KEY',
      );
      expect(body.details).toMatchObject({ idempotencyKey: 'order-42', existingTaskId: first.body.id });
      // in a batch, next to a good task: the whole batch is refused
      const batch = expectError(
        await mesh.api('POST', '/tasks/batch', {
          tasks: [{ capability: 'e2e.echo' }, { capability: 'e2e.echo', idempotencyKey: 'order-42' }],
        }),
        409,
        'DUPLICATE_IDEMPOTENCY_KEY',
      );
      expect(batch.details).toMatchObject({ existingTaskId: first.body.id, index: 1 });
      // the same key twice in one batch
      expectError(
        await mesh.api('POST', '/tasks/batch', {
          tasks: [
            { capability: 'e2e.echo', idempotencyKey: 'fresh-key' },
            { capability: 'e2e.echo', idempotencyKey: 'fresh-key' },
          ],
        }),
        409,
        'DUPLICATE_IDEMPOTENCY_KEY',
      );
    });
    // the key of the refused batch was not taken
    const fresh = await mesh.api<TaskDto>('POST', '/tasks', { capability: 'e2e.echo', idempotencyKey: 'fresh-key' });
    expect(fresh.status).toBe(201);
  });

  it('a batch with one bad task is rejected whole: nothing written', async () => {
    await writesNothing(async () => {
      const good = Array.from({ length: 5 }, (_, n) => ({ capability: 'e2e.echo', input: { n } }));
      const invalid = expectError(
        await mesh.api('POST', '/tasks/batch', { tasks: [...good, { capability: 'e2e.echo', priority: 'SOON' }] }),
        400,
        'VALIDATION_FAILED',
      );
      expect(violationPaths(invalid)).toEqual(['tasks.5.priority']);
      const unknown = expectError(
        await mesh.api('POST', '/tasks/batch', { tasks: [...good, { capability: 'nobody.does.this' }] }),
        422,
        'UNKNOWN_CAPABILITY',
      );
      expect(unknown.details.capabilities).toEqual(['nobody.does.this']);
      // more than 1000 tasks
      const tooMany = Array.from({ length: 1001 }, () => ({ capability: 'e2e.echo' }));
      expectError(await mesh.api('POST', '/tasks/batch', { tasks: tooMany }), 400, 'VALIDATION_FAILED');
    });
  });

  it('a path id that is not a UUID → 400 VALIDATION_FAILED; an unknown one → 404 TASK_NOT_FOUND', async () => {
    await writesNothing(async () => {
      for (const [method, path, payload] of [
        ['GET', '/tasks/not-a-uuid', undefined],
        ['POST', '/tasks/123/cancel', {}],
        ['POST', '/tasks/xyz/priority', { priority: 'HIGH' }],
        ['GET', '/dead-letters/nope', undefined],
        ['POST', '/dead-letters/nope/replay', undefined],
      ] as const) {
        const body = expectError(await mesh.api(method, path, payload), 400, 'VALIDATION_FAILED');
        expect(violationPaths(body)).toEqual(['id']);
      }
      const missing = '00000000-0000-4000-8000-000000000000';
      expectError(await mesh.api('GET', `/tasks/${missing}`), 404, 'TASK_NOT_FOUND');
      expectError(await mesh.api('POST', `/tasks/${missing}/cancel`, {}), 404, 'TASK_NOT_FOUND');
      expectError(await mesh.api('GET', `/dead-letters/${missing}`), 404, 'DEAD_LETTER_NOT_FOUND');
    });
  });

  it('bad query parameters → 400 (unknown filter, bad limit, bad state, bad cursor)', async () => {
    expect(violationPaths(expectError(await mesh.api('GET', '/tasks?capabilty=e2e.echo'), 400, 'VALIDATION_FAILED'))).toContain(
      'capabilty',
    );
    expectError(await mesh.api('GET', '/tasks?limit=0'), 400, 'VALIDATION_FAILED');
    expectError(await mesh.api('GET', '/tasks?limit=abc'), 400, 'VALIDATION_FAILED');
    expectError(await mesh.api('GET', '/tasks?state=finished'), 400, 'VALIDATION_FAILED');
    const cursor = await mesh.api<ApiErrorBody>('GET', '/tasks?cursor=garbage');
    expect(cursor.status).toBe(400);
    expect(['INVALID_CURSOR', 'VALIDATION_FAILED']).toContain(cursor.body.code);
  });

  it("another tenant's task is 404 for every route; no key or a wrong key is 401", async () => {
    const mine = await mesh.api<TaskDto>('POST', '/tasks', { capability: 'e2e.echo', input: { secret: 'default tenant' } });
    expect(mine.status).toBe(201);
    const otherKey = await mesh.createApiKey('acme');
    await writesNothing(async () => {
      expectError(await mesh.api('GET', `/tasks/${mine.body.id}`, undefined, { key: otherKey }), 404, 'TASK_NOT_FOUND');
      expectError(await mesh.api('POST', `/tasks/${mine.body.id}/cancel`, {}, { key: otherKey }), 404, 'TASK_NOT_FOUND');
      expectError(
        await mesh.api('POST', `/tasks/${mine.body.id}/priority`, { priority: 'HIGH' }, { key: otherKey }),
        404,
        'TASK_NOT_FOUND',
      );
      const list = await mesh.api<TaskPageDto>('GET', '/tasks', undefined, { key: otherKey });
      expect(list.status).toBe(200);
      expect(list.body.items).toEqual([]);
      // the other tenant registered no agent: the capability is unknown there
      expectError(await mesh.api('POST', '/tasks', { capability: 'e2e.echo' }, { key: otherKey }), 422, 'UNKNOWN_CAPABILITY');

      const noKey = expectError(await mesh.api('GET', `/tasks/${mine.body.id}`, undefined, { key: null }), 401, 'UNAUTHENTICATED');
      expect(noKey.message).toMatch(/key/i);
      expectError(await mesh.api('POST', '/tasks', { capability: 'e2e.echo' }, { key: null }), 401, 'UNAUTHENTICATED');
      expectError(await mesh.api('GET', '/tasks', undefined, { key: 'sm_abcdefgh_wrongwrongwrongwrong' }), 401, 'UNAUTHENTICATED');
      expectError(await mesh.api('GET', '/tasks', undefined, { key: `${otherKey}x` }), 401, 'UNAUTHENTICATED');
    });
    // the x-api-key header is accepted too
    const viaHeader = await mesh.api<TaskDto>('GET', `/tasks/${mine.body.id}`, undefined, {
      key: null,
      headers: { 'x-api-key': otherKey },
    });
    expect(viaHeader.status).toBe(404);

    // once the other tenant has an agent of its own, its tasks run there only, and idempotency keys are per tenant
    const acmeAgent = await mesh.agent(
      { id: 'acme-echo', tenantId: 'acme', domain: 'data', concurrency: 2 },
      { 'e2e.echo': (ctx) => ({ by: ctx.agentId }) },
    );
    const theirs = await mesh.api<TaskDto>('POST', '/tasks', { capability: 'e2e.echo', idempotencyKey: 'order-42' }, { key: otherKey });
    expect(theirs.status).toBe(201);
    expect(theirs.body.tenantId).toBe('acme');
    const done = await eventually(async () => {
      const r = await mesh.api<TaskDto>('GET', `/tasks/${theirs.body.id}`, undefined, { key: otherKey });
      return r.body.state === 'succeeded' ? r.body : undefined;
    });
    expect(done.result).toEqual({ by: 'acme-echo' });
    expectError(await mesh.api('GET', `/tasks/${theirs.body.id}`), 404, 'TASK_NOT_FOUND');
    const acmeList = await mesh.api<TaskPageDto>('GET', '/tasks', undefined, { key: otherKey });
    expect(acmeList.body.items.map((t) => t.id)).toEqual([theirs.body.id]);
    expect((await listedIds()).includes(theirs.body.id)).toBe(false);
    await mesh.stopAgents([acmeAgent]);
  });

  it('concurrent submits with one idempotency key: exactly one is created, the others are 409 naming it', async () => {
    const before = await mesh.taskRows();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, n) =>
        mesh.api<TaskDto & ApiErrorBody>('POST', '/tasks', { capability: 'e2e.echo', idempotencyKey: 'race-1', input: { n } }),
      ),
    );
    const created = results.filter((r) => r.status === 201);
    expect(created).toHaveLength(1);
    const winner = created[0]!.body.id;
    for (const r of results.filter((x) => x.status !== 201)) {
      expect(r.status).toBe(409);
      expect(r.body).toMatchObject({ code: 'DUPLICATE_IDEMPOTENCY_KEY', details: { existingTaskId: winner } });
    }
    expect(await mesh.taskRows()).toBe(before + 1);
  });
});

// ── 2. happy paths ─────────────────────────────────────────────────────────

describe('submitting and reading tasks', () => {
  it('POST /tasks → 201 with id, state and traceId; GET /tasks/{id} shows the finished task with its attempts', async () => {
    const res = await mesh.api<TaskDto>('POST', '/tasks', {
      capability: 'e2e.echo',
      input: { hello: 'world' },
      priority: 'HIGH',
      labels: { team: 'e2e' },
    });
    expect(res.status).toBe(201);
    const created = res.body;
    expect(created.id).toMatch(UUID_RE);
    expect(['queued', 'dispatched', 'running', 'succeeded']).toContain(created.state);
    expect(created.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(created).toMatchObject({ capability: 'e2e.echo', priority: 'HIGH', input: { hello: 'world' }, labels: { team: 'e2e' } });

    const done = await mesh.waitState(created.id, 'succeeded');
    expect(done.result).toEqual({ echo: { hello: 'world' }, attempt: 1 });
    expect(done.traceId).toBe(created.traceId);
    expect(done.error ?? null).toBeNull();
    expect(done.attempts).toHaveLength(1);
    const [a] = done.attempts;
    expect(a).toMatchObject({ attempt: 1, agentId: 'echo-1', outcome: 'succeeded' });
    for (const ts of [a!.dispatchedAt, a!.startedAt, a!.finishedAt, done.createdAt, done.updatedAt, done.startedAt, done.finishedAt]) {
      expect(Number.isNaN(Date.parse(ts!))).toBe(false);
    }
    // the recorded times are in causal order
    expect(Date.parse(done.createdAt)).toBeLessThanOrEqual(Date.parse(a!.dispatchedAt));
    expect(Date.parse(a!.startedAt!)).toBeLessThanOrEqual(Date.parse(a!.finishedAt!));
    expect(done.finishedAt).toBe(a!.finishedAt);
  });

  it('POST /tasks/batch with 500 tasks → 201 in request order, and all 500 succeed', async () => {
    const priorities = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
    const tasks = Array.from({ length: 500 }, (_, n) => ({ capability: 'e2e.batch', input: { n }, priority: priorities[n % 4] }));
    const res = await mesh.api<{ tasks: SubmittedTaskDto[] }>('POST', '/tasks/batch', { tasks });
    expect(res.status).toBe(201);
    expect(res.body.tasks).toHaveLength(500);
    // compact entries (no input echo), in request order
    expect(res.body.tasks.map((t) => t.priority)).toEqual(tasks.map((t) => t.priority));
    expect(res.body.tasks.every((t) => t.capability === 'e2e.batch' && typeof t.traceId === 'string')).toBe(true);
    expect(new Set(res.body.tasks.map((t) => t.id)).size).toBe(500);
    const done = await eventually(
      async () => {
        const page = await mesh.api<TaskPageDto>('GET', '/tasks?capability=e2e.batch&state=succeeded&limit=500');
        return page.body.items.length === 500 ? page.body.items : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, description: '500 batch tasks succeeded' },
    );
    const byId = new Map(done.map((t) => [t.id, t]));
    res.body.tasks.forEach((t, n) => expect(byId.get(t.id)?.result).toEqual({ n }));
  });

  it('GET /tasks filters by state, capability and priority, and its cursor walks every page without duplicates or gaps', async () => {
    const batch = (await mesh.client.list({ capability: 'e2e.batch', limit: 500 })).items;
    expect(batch).toHaveLength(500);
    const all = new Set(batch.map((t) => t.id));

    // walk the capability in pages of 37: every task exactly once, newest first
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `/tasks?capability=e2e.batch&limit=37${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page: ApiResponse<TaskPageDto> = await mesh.api<TaskPageDto>('GET', q);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(37);
      seen.push(...page.body.items.map((t) => t.id));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(Math.ceil(500 / 37));
    expect(seen).toHaveLength(500);
    expect(new Set(seen)).toEqual(all);
    expect(seen).toEqual(batch.map((t) => t.id));

    // priority filter, also walked in pages
    const high: string[] = [];
    for await (const t of mesh.client.listAll({ capability: 'e2e.batch', priority: 'HIGH', limit: 20 })) {
      expect(t.priority).toBe('HIGH');
      high.push(t.id);
    }
    expect(high).toHaveLength(125);
    expect(new Set(high).size).toBe(125);
    expect(high).toEqual(batch.filter((t) => t.priority === 'HIGH').map((t) => t.id));

    // state filter: nothing of the batch is queued; every listed succeeded task has that state
    expect((await mesh.client.list({ capability: 'e2e.batch', state: 'queued' })).items).toEqual([]);
    const succeeded = await mesh.client.list({ state: 'succeeded', limit: 500 });
    expect(succeeded.items.every((t) => t.state === 'succeeded')).toBe(true);
    // agent filter
    const byAgent = await mesh.client.list({ agentId: 'echo-1', capability: 'e2e.batch', limit: 500 });
    expect(byAgent.items).toHaveLength(500);
    expect((await mesh.client.list({ agentId: 'nobody' })).items).toEqual([]);
    // a capability with no tasks
    expect(await mesh.client.list({ capability: 'e2e.other' })).toEqual({ items: [], nextCursor: null });
    // the default page size is 50
    const first = await mesh.api<TaskPageDto>('GET', '/tasks');
    expect(first.body.items).toHaveLength(50);
    expect(first.body.nextCursor).toEqual(expect.any(String));
  });
});

describe('queues, priorities and cancellation while the agent is saturated', () => {
  it('GET /queues shows depths; POST /priority reorders; POST /cancel removes a queued task and aborts a running one', async () => {
    const order: string[] = [];
    const release = gate();
    let runningAborted = false;
    await mesh.agent(
      { id: 'solo-1', domain: 'content', concurrency: 1 },
      {
        'e2e.solo': async (ctx) => {
          const label = String(ctx.input.label);
          order.push(label);
          if (label === 'blocker') await release.promise;
          if (label === 'hang') {
            await aborted(ctx.signal);
            runningAborted = true;
            throw ctx.signal.reason;
          }
          return { label };
        },
      },
    );
    const submit = async (label: string, priority: string): Promise<TaskDto> => {
      const r = await mesh.api<TaskDto>('POST', '/tasks', { capability: 'e2e.solo', priority, input: { label } });
      expect(r.status).toBe(201);
      return r.body;
    };
    const blocker = await submit('blocker', 'MEDIUM');
    await mesh.waitState(blocker.id, 'running');
    const lows = [await submit('low-a', 'LOW'), await submit('low-b', 'LOW'), await submit('low-c', 'LOW')];
    const high = await submit('high', 'HIGH');
    const doomed = await submit('doomed', 'CRITICAL');

    const depth = await eventually(async () => {
      const q = await mesh.api<QueueDepthsDto>('GET', '/queues');
      expect(q.status).toBe(200);
      const d = q.body.items.find((i) => i.capability === 'e2e.solo');
      return d && d.running === 1 && d.totalQueued === 5 ? d : undefined;
    });
    expect(depth).toMatchObject({
      queued: { LOW: 3, MEDIUM: 0, HIGH: 1, CRITICAL: 1 },
      totalQueued: 5,
      running: 1,
      dispatched: 0,
      availableAgents: 1,
      freeSlots: 0,
    });
    expect(depth.oldestQueuedAgeMs).toEqual(expect.any(Number));

    // raise the last LOW task above everything else
    const raised = await mesh.api<TaskDto>('POST', `/tasks/${lows[2]!.id}/priority`, { priority: 'CRITICAL' });
    expect(raised.status).toBe(200);
    expect(raised.body).toMatchObject({ id: lows[2]!.id, priority: 'CRITICAL', state: 'queued' });
    expectError(await mesh.api('POST', `/tasks/${lows[2]!.id}/priority`, { priority: 'NOW' }), 400, 'VALIDATION_FAILED');

    // cancel a queued task: it never runs
    const cancelled = await mesh.api<TaskDto>('POST', `/tasks/${doomed.id}/cancel`, { reason: 'not needed any more' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('cancelled');
    const q2 = await mesh.api<QueueDepthsDto>('GET', '/queues');
    expect(q2.body.items.find((i) => i.capability === 'e2e.solo')?.queued).toEqual({ LOW: 2, MEDIUM: 0, HIGH: 1, CRITICAL: 1 });

    release.open();
    const finished = await Promise.all([...lows, high].map((t) => mesh.waitState(t.id, 'succeeded')));
    expect(finished.every((t) => t.attempts.length === 1)).toBe(true);
    expect(order).toEqual(['blocker', 'low-c', 'high', 'low-a', 'low-b']);
    const doomedAfter = await mesh.task(doomed.id);
    expect(doomedAfter).toMatchObject({ state: 'cancelled', attempts: [], error: { code: 'CANCELLED', message: 'not needed any more' } });

    // cancel a running task: the handler's abort signal fires
    const hang = await submit('hang', 'MEDIUM');
    await mesh.waitState(hang.id, 'running');
    const stop = await mesh.api<TaskDto>('POST', `/tasks/${hang.id}/cancel`, {});
    expect(stop.status).toBe(200);
    expect(stop.body.state).toBe('cancelled');
    await eventually(() => runningAborted, { description: 'the running handler saw its abort signal' });
    const hangAfter = await mesh.task(hang.id);
    expect(hangAfter.state).toBe('cancelled');
    expect(hangAfter.attempts).toHaveLength(1);
    expect(hangAfter.attempts[0]).toMatchObject({ agentId: 'solo-1', outcome: 'cancelled' });
    // a finished task can be neither cancelled nor re-prioritised
    expectError(await mesh.api('POST', `/tasks/${hang.id}/cancel`, {}), 409, 'INVALID_STATE_TRANSITION');
    expectError(await mesh.api('POST', `/tasks/${blocker.id}/priority`, { priority: 'LOW' }), 409, 'INVALID_STATE_TRANSITION');
    // the queue is empty again
    const q3 = await mesh.api<QueueDepthsDto>('GET', '/queues');
    expect(q3.body.items.find((i) => i.capability === 'e2e.solo')).toMatchObject({ totalQueued: 0, running: 0 });
    await mesh.stopAgents(mesh.agents.filter((a) => a.id === 'solo-1'));
  });
});

describe('dead letters', () => {
  let broken = true;

  it('a task failing every attempt lands in GET /dead-letters with its errors; replay once fixed succeeds; a second replay is 409', async () => {
    await mesh.agent(
      { id: 'flaky-1', domain: 'quality', concurrency: 2 },
      {
        'e2e.flaky': (ctx) => {
          const simulate = ctx.input.simulate as { failAlways?: boolean } | undefined;
          if (broken && simulate?.failAlways) throw new TaskError(`provider down (attempt ${ctx.attempt})`, { code: 'SIMULATED_FAILURE' });
          return { ok: true, attempt: ctx.attempt };
        },
      },
    );
    const res = await mesh.api<TaskDto>('POST', '/tasks', {
      capability: 'e2e.flaky',
      input: { simulate: { failAlways: true } },
      retry: { maxAttempts: 2, backoffMs: [50] },
    });
    expect(res.status).toBe(201);
    const dead = await mesh.waitState(res.body.id, 'dead_lettered');
    expect(dead.attempts.map((a) => [a.outcome, a.error?.code])).toEqual([
      ['failed', 'SIMULATED_FAILURE'],
      ['failed', 'SIMULATED_FAILURE'],
    ]);
    expect(dead.error).toMatchObject({ code: 'SIMULATED_FAILURE', message: 'provider down (attempt 2)' });

    const list = await mesh.api<DeadLetterPageDto>('GET', '/dead-letters?capability=e2e.flaky');
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    const dl = list.body.items[0]!;
    expect(dl).toMatchObject({ taskId: dead.id, capability: 'e2e.flaky', tenantId: 'default' });
    expect(dl.id).toMatch(UUID_RE);
    expect(dl.reason).toEqual(expect.any(String));
    expect(dl.errors.map((e) => e.message)).toEqual(['provider down (attempt 1)', 'provider down (attempt 2)']);
    expect(dl.replayedAt ?? null).toBeNull();
    const one = await mesh.api<DeadLetterDto>('GET', `/dead-letters/${dl.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(dl);

    // a replay gives a fresh attempt budget: still broken, it fails twice more and is dead-lettered again
    const replay = await mesh.api<TaskDto>('POST', `/dead-letters/${dl.id}/replay`);
    expect(replay.status).toBe(200);
    expect(replay.body.id).toBe(dead.id);
    expect(['queued', 'dispatched', 'running', 'retry_scheduled', 'dead_lettered']).toContain(replay.body.state);
    // queued again, it carries no error (the last one stays in attempts[] and the dead letter); its budget runs to attempt 4
    if (replay.body.state === 'queued' || replay.body.state === 'dispatched') expect(replay.body.error).toBeNull();
    expect(replay.body.maxAttempts).toBe(4);
    const deadAgain = await mesh.waitTask(dead.id, (t) => t.state === 'dead_lettered' && t.attempts.length === 4, 'dead-lettered again');
    expect(deadAgain.attempts.map((a) => a.outcome)).toEqual(['failed', 'failed', 'failed', 'failed']);
    expect(deadAgain).toMatchObject({ attempt: 4, maxAttempts: 4, retry: { maxAttempts: 2 } });
    const again = expectError(await mesh.api('POST', `/dead-letters/${dl.id}/replay`), 409, 'INVALID_STATE_TRANSITION');
    expect(again.details).toMatchObject({ deadLetterId: dl.id });
    const second = (await mesh.api<DeadLetterPageDto>('GET', '/dead-letters?capability=e2e.flaky')).body.items;
    expect(second).toHaveLength(1);
    expect(second[0]!.id).not.toBe(dl.id);
    expect(second[0]!.taskId).toBe(dead.id);

    broken = false;
    expect((await mesh.api<TaskDto>('POST', `/dead-letters/${second[0]!.id}/replay`)).status).toBe(200);
    const ok = await mesh.waitState(dead.id, 'succeeded');
    expect(ok.result).toEqual({ ok: true, attempt: 5 });
    expect(ok.attempts.map((a) => a.outcome)).toEqual(['failed', 'failed', 'failed', 'failed', 'succeeded']);
    expectError(await mesh.api('POST', `/dead-letters/${second[0]!.id}/replay`), 409, 'INVALID_STATE_TRANSITION');

    // replayed dead letters leave the default list and show up with includeReplayed
    expect((await mesh.api<DeadLetterPageDto>('GET', '/dead-letters?capability=e2e.flaky')).body.items).toEqual([]);
    const withReplayed = await mesh.api<DeadLetterPageDto>('GET', '/dead-letters?capability=e2e.flaky&includeReplayed=true');
    expect(withReplayed.body.items.map((d) => d.id).sort()).toEqual([dl.id, second[0]!.id].sort());
    for (const d of withReplayed.body.items) {
      expect(d.replayedBy).toContain('bootstrap');
      expect(d.replayedAt).toEqual(expect.any(String));
    }
  });

  it('a task waiting for its retry can be cancelled: it never runs again', async () => {
    broken = true;
    const res = await mesh.api<TaskDto>('POST', '/tasks', {
      capability: 'e2e.flaky',
      input: { simulate: { failAlways: true } },
      retry: { maxAttempts: 3, backoffMs: [60_000] },
    });
    const waiting = await mesh.waitState(res.body.id, 'retry_scheduled');
    expect(waiting.nextAttemptAt).toEqual(expect.any(String));
    const q = await mesh.api<QueueDepthsDto>('GET', '/queues');
    expect(q.body.items.find((i) => i.capability === 'e2e.flaky')).toMatchObject({ retryScheduled: 1, totalQueued: 0 });
    const cancelled = await mesh.api<TaskDto>('POST', `/tasks/${res.body.id}/cancel`, { reason: 'giving up' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('cancelled');
    const after = await mesh.task(res.body.id);
    expect(after).toMatchObject({ state: 'cancelled', error: { code: 'CANCELLED', message: 'giving up' }, nextAttemptAt: null });
    expect(after.attempts.map((a) => a.outcome)).toEqual(['failed']);
    const q2 = await mesh.api<QueueDepthsDto>('GET', '/queues');
    expect(q2.body.items.find((i) => i.capability === 'e2e.flaky')).toMatchObject({ retryScheduled: 0, totalQueued: 0 });
    await mesh.stopAgents(mesh.agents.filter((a) => a.id === 'flaky-1'));
  });
});

describe('large tasks', () => {
  // in a tenant of their own, so that the other tests' lists stay small
  let key: string;

  beforeAll(async () => {
    key = await mesh.createApiKey('bigco');
    await mesh.agent(
      { id: 'big-1', tenantId: 'bigco', domain: 'data', concurrency: 4 },
      { 'e2e.big': (ctx) => ({ out: 'y'.repeat(Number(ctx.input.resultBytes ?? 0)) }) },
    );
  });

  it('tasks whose inputs are within the limit can be listed (GET /tasks pages stay within what the mesh can carry)', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await mesh.api<TaskDto>('POST', '/tasks', { capability: 'e2e.big', input: { i, blob: 'x'.repeat(200 * 1024) } }, { key });
      expect(r.status).toBe(201);
      ids.push(r.body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: ApiResponse<TaskPageDto & ApiErrorBody> = await mesh.api<TaskPageDto & ApiErrorBody>(
        'GET',
        `/tasks?capability=e2e.big${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        undefined,
        { key },
      );
      expect({ status: page.status, code: page.body.code }).toEqual({ status: 200, code: undefined });
      seen.push(...page.body.items.map((t) => t.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual([...ids].sort());
  });

  it('a task with a large input and a large result (each within its limit) can be read back', async () => {
    const r = await mesh.api<TaskDto>(
      'POST',
      '/tasks',
      { capability: 'e2e.big', input: { blob: 'x'.repeat(250 * 1024), resultBytes: 500 * 1024 } },
      { key },
    );
    expect(r.status).toBe(201);
    const rows = await eventually(async () => {
      const q = await mesh.pg.query<{ state: string }>('SELECT state FROM coordinator.tasks WHERE id = $1', [r.body.id]);
      return q.rows[0]?.state === 'succeeded';
    });
    expect(rows).toBe(true);
    const got = await mesh.api<TaskDto & ApiErrorBody>('GET', `/tasks/${r.body.id}`, undefined, { key });
    expect({ status: got.status, code: got.body.code }).toEqual({ status: 200, code: undefined });
    expect((got.body.result?.out as string).length).toBe(500 * 1024);
  });

  it('a result over the limit fails the attempt for good with RESULT_TOO_LARGE', async () => {
    const r = await mesh.api<TaskDto>('POST', '/tasks', { capability: 'e2e.big', input: { resultBytes: 600 * 1024 } }, { key });
    expect(r.status).toBe(201);
    const done = await eventually(async () => {
      const got = await mesh.api<TaskDto>('GET', `/tasks/${r.body.id}`, undefined, { key });
      return got.body.state === 'dead_lettered' ? got.body : undefined;
    });
    expect(done.attempts).toHaveLength(1);
    expect(done.attempts[0]!.error?.code).toBe('RESULT_TOO_LARGE');
  });
});
