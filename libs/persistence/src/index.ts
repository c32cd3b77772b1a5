export * from './data-source';
export * from './batcher';
