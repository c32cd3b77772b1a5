/**
 * Fault test on a private nats-server (never the shared one): the bus survives a broker
 * kill -9 and restart — requests fail with a coded error while it is down, handlers answer again
 * once it is back, and a durable publish made during the outage is stored exactly once.
 */
import { IsString } from 'class-validator';
import { defineCommand, defineMessage, eventSubject, SwarmError } from '@swarm-mesh/contracts';
import { ensureStream, type MeshBus } from '@swarm-mesh/messaging';
import { connectTestBus, eventually, type PrivateNats, randomNamespace, startPrivateNats } from '@swarm-mesh/testing';

jest.setTimeout(90_000);

class Ping {
  @IsString()
  text!: string;
}

const PingCmd = defineCommand({
  service: 'coordinator',
  command: 'test.ping',
  request: Ping,
  reply: Ping,
  timeoutMs: 1_000,
  description: 'test-only',
});
const Fact = defineMessage({ name: 'test.fact', subject: eventSubject('test', 'fact'), payload: Ping, description: 'test-only' });

const ns = randomNamespace();
let nats: PrivateNats;
let server: MeshBus;
let client: MeshBus;

beforeAll(async () => {
  nats = await startPrivateNats();
  server = await connectTestBus({ namespace: ns, identity: 'coordinator', servers: nats.url });
  client = await connectTestBus({ namespace: ns, identity: 'client:test', servers: nats.url });
  server.handle(PingCmd, (req) => ({ text: `pong ${req.text}` }));
  await server.nc.flush();
  await ensureStream(client, { name: 'FACTS', subjects: ['swarm.evt.test.>'] });
});

afterAll(async () => {
  await client?.close();
  await server?.close();
  await nats?.close();
});

it('answers before, fails with a coded error during, and answers again after a broker kill -9', async () => {
  await expect(client.request(PingCmd, { text: 'a' })).resolves.toEqual({ text: 'pong a' });

  await nats.kill();
  const during = await client.request(PingCmd, { text: 'b' }, { timeoutMs: 300 }).catch((e: unknown) => e);
  expect(during).toBeInstanceOf(SwarmError);
  expect(['TIMEOUT', 'SERVICE_UNAVAILABLE']).toContain((during as SwarmError).code);
  expect((during as SwarmError).retryable).toBe(true);

  await nats.restart();
  const reply = await eventually(() => client.request(PingCmd, { text: 'c' }, { timeoutMs: 500 }), {
    timeoutMs: 20_000,
    intervalMs: 100,
    description: 'the handler answers after the restart',
  });
  expect(reply).toEqual({ text: 'pong c' });
});

it('a durable publish made while the broker is down is stored once it is back', async () => {
  const jsm = await client.jsm();
  const before = (await jsm.streams.info(client.name('FACTS'))).state.messages;
  await nats.stop();
  const pending = client.publishDurable(Fact, { text: 'during the outage' }, { msgId: `fact-${ns}-1` });
  await nats.restart();
  const ack = await pending;
  expect(ack.stream).toBe(client.name('FACTS'));
  await eventually(async () => (await jsm.streams.info(client.name('FACTS'))).state.messages === before + 1, {
    timeoutMs: 20_000,
    description: 'the fact stored exactly once',
  });
  // a retried publish with the same id is not stored twice
  const again = await client.publishDurable(Fact, { text: 'during the outage' }, { msgId: `fact-${ns}-1` });
  expect(again.duplicate).toBe(true);
});
