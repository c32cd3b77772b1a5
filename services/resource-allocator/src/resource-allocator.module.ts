import { Module } from '@nestjs/common';
import { AllocatorHost } from './allocator.host';
import { ResourcesController } from './api/resources.controller';

/** Root feature module of the resource-allocator. */
@Module({
  controllers: [ResourcesController],
  providers: [AllocatorHost],
})
export class ResourceAllocatorModule {}
