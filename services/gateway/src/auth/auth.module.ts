import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuditModule } from '../audit/audit.module';
import { ApiKeyService } from './api-key.service';
import { ApiKeyGuard } from './auth.guard';
import { RateLimiter } from './rate-limiter';

/** API-key authentication, per-key rate limits and role checks for every gateway route (global guard). */
@Module({
  imports: [AuditModule],
  providers: [ApiKeyService, RateLimiter, { provide: APP_GUARD, useClass: ApiKeyGuard }],
  exports: [ApiKeyService, RateLimiter],
})
export class AuthModule {}
