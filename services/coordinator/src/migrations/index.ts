import { CoordinatorInit1730000000000 } from './1730000000000-coordinator-init';
import { CoordinatorHotUpdates1730000001000 } from './1730000001000-coordinator-hot-updates';
import { CoordinatorGenerations1730000002000 } from './1730000002000-coordinator-generations';
import { CoordinatorWorkflows1731100000000 } from './1731100000000-coordinator-workflows';
import { CoordinatorOutboxUncompressed1733000000000 } from './1733000000000-coordinator-outbox-uncompressed';
import { CoordinatorOutboxLz41733100000000 } from './1733100000000-coordinator-outbox-lz4';

/** The coordinator schema's migrations, oldest first. */
export const COORDINATOR_MIGRATIONS = [
  CoordinatorInit1730000000000,
  CoordinatorHotUpdates1730000001000,
  CoordinatorGenerations1730000002000,
  CoordinatorWorkflows1731100000000,
  CoordinatorOutboxUncompressed1733000000000,
  CoordinatorOutboxLz41733100000000,
];
