export * from './data-source';
export * from './batcher';
export * from './pg-array';
export * from './prepared-query';
