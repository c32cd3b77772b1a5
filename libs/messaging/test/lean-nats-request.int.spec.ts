import { testNatsUrl } from '@swarm-mesh/testing';
import { ErrorCode, NatsError, type NatsConnection } from 'nats';
import { connectMesh } from '../src/nats-connection';
import { installLeanNatsRequest } from '../src/lean-nats-request';
import { randomUUID } from 'node:crypto';

describe('installLeanNatsRequest (nats.js RequestOne.resolver without the throw-away NatsError)', () => {
  let nc: NatsConnection;
  const subject = `lean-request-test.${randomUUID()}`;

  beforeAll(async () => {
    // connectMesh installs it
    nc = await connectMesh({ servers: testNatsUrl() });
    nc.subscribe(subject, { callback: (_err, m) => m.respond(m.data) });
    await nc.flush();
  });

  afterAll(async () => {
    await nc.close();
  });

  it('is installed for this nats.js version, idempotently', () => {
    expect(installLeanNatsRequest()).toBe(true);
    expect(installLeanNatsRequest()).toBe(true);
  });

  it('answers requests as before and builds no CANCELLED error per answer', async () => {
    const spy = jest.spyOn(NatsError, 'errorForCode');
    try {
      const replies = await Promise.all(
        Array.from({ length: 50 }, (_, i) => nc.request(subject, new TextEncoder().encode(`m${i}`), { timeout: 5000 })),
      );
      expect(replies.map((r) => r.string())).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
      expect(spy.mock.calls.filter(([code]) => code === ErrorCode.Cancelled)).toHaveLength(0);
    } finally {
      spy.mockRestore();
    }
  });

  it('still rejects a request nobody answers (503) and one that times out', async () => {
    await expect(nc.request(`${subject}.nobody`, undefined, { timeout: 2000 })).rejects.toMatchObject({ code: ErrorCode.NoResponders });
    const silent = `${subject}.silent`;
    nc.subscribe(silent, { callback: () => undefined });
    await nc.flush();
    await expect(nc.request(silent, undefined, { timeout: 50 })).rejects.toMatchObject({ code: ErrorCode.Timeout });
    // the mux forgot both: a later request on the same connection is answered normally
    expect((await nc.request(subject, new TextEncoder().encode('again'), { timeout: 5000 })).string()).toBe('again');
  });
});
