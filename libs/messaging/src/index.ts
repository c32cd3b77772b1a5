export * from './nats-connection';
export * from './lean-nats-request';
export * from './nats-headers';
export * from './mesh-bus';
export * from './jetstream';
export * from './flag-store';
export * from './leader-lease';
