import { Module } from '@nestjs/common';
import { ConflictsController } from './api/conflicts.controller';
import { ResolverHost } from './resolver.host';

/** Root feature module of the conflict-resolver. */
@Module({
  controllers: [ConflictsController],
  providers: [ResolverHost],
})
export class ConflictResolverModule {}
