import { Module } from '@nestjs/common';
import { ApiKeysController } from '../api-keys/api-keys.controller';
import { ApiKeysService } from '../api-keys/api-keys.service';
import { AuditController } from '../audit/audit.controller';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { FlagsController } from '../flags/flags.controller';
import { WhoAmIController } from './whoami.controller';

/** The gateway's own resources: API keys, audit log, runtime flags, whoami. */
@Module({
  imports: [AuthModule, AuditModule],
  controllers: [ApiKeysController, AuditController, FlagsController, WhoAmIController],
  providers: [ApiKeysService],
})
export class AdminModule {}
