import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { MeshBus } from '@swarm-mesh/messaging';
import { DATA_SOURCE, LOGGER, MESH_BUS, SERVICE_CONFIG, type ServiceConfig } from '@swarm-mesh/service-kit';
import type { Logger } from '@swarm-mesh/telemetry';
import type { DataSource } from 'typeorm';
import { type OptimizerEnv, type OptimizerOptions, resolveOptimizerOptions } from './config/optimizer-options';
import { Facts } from './store/facts';
import { RecommendationStore } from './store/recommendation.store';
import { RegressionStore } from './store/regression.store';
import { TuningStore } from './tuning/tuning.store';

/** What every part of the optimizer shares: options, stores, the tuning publisher, facts. */
@Injectable()
export class OptimizerRuntime implements OnApplicationBootstrap {
  readonly options: OptimizerOptions;
  readonly regressions: RegressionStore;
  readonly recommendations: RecommendationStore;
  readonly tuning: TuningStore;
  readonly facts: Facts;

  constructor(
    @Inject(MESH_BUS) readonly bus: MeshBus,
    @Inject(DATA_SOURCE) readonly ds: DataSource,
    @Inject(SERVICE_CONFIG) config: ServiceConfig<OptimizerEnv>,
    @Inject(LOGGER) readonly logger: Logger,
  ) {
    this.options = resolveOptimizerOptions(config.extra);
    this.regressions = new RegressionStore(ds);
    this.recommendations = new RecommendationStore(ds);
    this.tuning = new TuningStore(ds, bus, logger);
    this.facts = new Facts(bus, logger);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.tuning.open();
    // Postgres holds the tuning in force; repair whatever the KV copy missed
    await this.tuning.publishAll();
  }
}
