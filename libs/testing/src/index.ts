/**
 * @swarm-mesh/testing — the test harness: namespaces, polling, temporary databases, test
 * buses, service processes, a private nats-server and an OTLP receiver. Every helper closes
 * what it opens.
 */
export * from './namespace';
export * from './eventually';
export * from './database';
export * from './bus';
export * from './lines';
export * from './processes';
export * from './nats-server';
export * from './otlp-receiver';
export * from './postgres-server';
export * from './receivers';
