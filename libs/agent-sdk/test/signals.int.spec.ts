/**
 * `handleSignals: true` in a real process: SIGTERM drains every agent of the process, then it
 * exits 0. Runs the built SDK (`npx tsc -b libs/agent-sdk`).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { MeshBus } from '@swarm-mesh/messaging';
import { cleanupNamespace, connectTestBus, eventually, randomNamespace, REPO_ROOT, testNatsUrl } from '@swarm-mesh/testing';
import { makeTask, StubCoordinator } from './support/stub-coordinator';

const namespace = randomNamespace('sdksig');
let bus: MeshBus;
let stub: StubCoordinator;

beforeAll(async () => {
  bus = await connectTestBus({ namespace, identity: 'coordinator' });
  stub = new StubCoordinator(bus);
  await stub.start();
});

afterAll(async () => {
  await stub?.stop();
  if (bus) {
    await cleanupNamespace(bus);
    await bus.close();
  }
});

const SCRIPT = `
const { Agent, silentLogger } = require(process.env.SDK_DIST);
const mk = (id) => {
  const a = new Agent({ id, domain: 'infra', handleSignals: true, namespace: process.env.NS, natsUrl: process.env.NATS, logger: silentLogger, shutdownGraceMs: 5000 });
  a.handle('test.slow', (ctx) => new Promise((r) => setTimeout(() => r({ slow: true }), Number(ctx.input.ms))));
  return a;
};
Promise.all([mk('sig-a').start(), mk('sig-b').start()]).then(() => process.stdout.write('started\\n'));
`;

it('drains every agent of the process on SIGTERM, then exits 0', async () => {
  const dist = resolve(REPO_ROOT, 'libs/agent-sdk/dist/index.js');
  expect(existsSync(dist)).toBe(true);
  const child = spawn(process.execPath, ['-e', SCRIPT], {
    env: { ...process.env, SDK_DIST: dist, NS: namespace, NATS: testNatsUrl() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    await eventually(() => out.includes('started'), { timeoutMs: 20_000, description: 'agents started' });
    const task = makeTask('test.slow', { input: { ms: 300 } });
    await stub.dispatch('sig-a', [task]);
    await eventually(() => stub.heartbeatsOf('sig-a').some((h) => h.running.length === 1), { description: 'task running' });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await eventually(() => stub.resultOf(task.taskId), { description: 'result flushed before exit' });
    expect(stub.resultOf(task.taskId)).toMatchObject({ outcome: 'succeeded', result: { slow: true } });
    for (const id of ['sig-a', 'sig-b']) expect(stub.heartbeatsOf(id).at(-1)).toMatchObject({ mode: 'draining', running: [] });
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
