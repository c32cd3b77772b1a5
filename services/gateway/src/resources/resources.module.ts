import { Module } from '@nestjs/common';
import { ResourcesController } from './resources.controller';

/** `/api/v1/resources/…`: pools, reservations, budgets, allocation, monitoring, conflicts, policies. */
@Module({ controllers: [ResourcesController] })
export class ResourcesModule {}
