import { type DynamicModule, Global, Module, type Type } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MeshExceptionFilter } from '../http/mesh-exception.filter';
import { OpsController } from '../ops/ops.controller';
import { DATA_SOURCE, FLAGS, HEALTH, LEADERSHIP, LOGGER, MESH_BUS, METRICS, SERVICE_CONFIG } from '../ops/tokens';
import type { ServiceRuntime } from './service-runtime';

/**
 * Root module of every service: provides the runtime (config, bus, data source, logger,
 * metrics, health) globally, serves /health and /metrics, and imports the service's module.
 */
@Global()
@Module({})
export class ServiceKitModule {
  static forRoot(runtime: ServiceRuntime, serviceModule: Type<unknown>): DynamicModule {
    const ds = runtime.dataSource;
    return {
      module: ServiceKitModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ ...ds.options }),
          dataSourceFactory: async () => ds,
        }),
        serviceModule,
      ],
      controllers: [OpsController],
      providers: [
        { provide: SERVICE_CONFIG, useValue: runtime.config },
        { provide: MESH_BUS, useValue: runtime.bus },
        { provide: DATA_SOURCE, useValue: ds },
        { provide: LOGGER, useValue: runtime.logger },
        { provide: METRICS, useValue: runtime.metrics },
        { provide: HEALTH, useValue: runtime.health },
        { provide: FLAGS, useValue: runtime.flags },
        { provide: LEADERSHIP, useValue: runtime.leadership },
        { provide: APP_FILTER, useValue: new MeshExceptionFilter(runtime.logger) },
      ],
      exports: [SERVICE_CONFIG, MESH_BUS, DATA_SOURCE, LOGGER, METRICS, HEALTH, FLAGS, LEADERSHIP],
    };
  }
}
