import { connectMesh, MeshBus } from '@swarm-mesh/messaging';
import { validateNamespace } from '@swarm-mesh/contracts';

/** NATS URL for tests: NATS_URL or the local server. */
export function testNatsUrl(): string {
  return process.env.NATS_URL || 'nats://127.0.0.1:4222';
}

/** Options of `connectTestBus`. */
export interface TestBusOptions {
  /** The test file's namespace (`randomNamespace()`). Required, non-empty. */
  namespace: string;
  /** Envelope `from`: a service name (`coordinator`), `agent:<id>` or `client:<name>`. Default `client:test`. */
  identity?: string;
  /** Default `testNatsUrl()`. */
  servers?: string | string[];
  /** MeshBus `awaitResponderMs`: how long requests retry "no responders". Default 0 (fail at once). */
  awaitResponderMs?: number;
}

/** Connects to NATS and returns a MeshBus bound to the namespace. Close it with `bus.close()`. */
export async function connectTestBus(options: TestBusOptions): Promise<MeshBus> {
  if (!options.namespace) throw new Error('connectTestBus: a non-empty namespace is required');
  validateNamespace(options.namespace);
  const identity = options.identity ?? 'client:test';
  const nc = await connectMesh({ servers: options.servers ?? testNatsUrl(), name: `test:${options.namespace}:${identity}` });
  return new MeshBus({ nc, identity, namespace: options.namespace, awaitResponderMs: options.awaitResponderMs ?? 0 });
}

/**
 * Deletes every JetStream stream and KV bucket / object store of the bus's namespace: streams
 * named `<NS>_…`, `KV_<NS>_…` and `OBJ_<NS>_…`. Refuses the empty namespace. Returns the
 * deleted stream names.
 */
export async function cleanupNamespace(bus: MeshBus, namespace: string = bus.namespace): Promise<string[]> {
  if (!namespace) throw new Error('cleanupNamespace: refusing to clean the empty namespace');
  const prefix = `${namespace.toUpperCase()}_`;
  const jsm = await bus.jsm();
  const names: string[] = [];
  for await (const name of jsm.streams.names()) {
    if (name.startsWith(prefix) || name.startsWith(`KV_${prefix}`) || name.startsWith(`OBJ_${prefix}`)) names.push(name);
  }
  for (const name of names) {
    try {
      await jsm.streams.delete(name);
    } catch (err) {
      if (!/not found/i.test((err as Error).message)) throw err;
    }
  }
  return names;
}
