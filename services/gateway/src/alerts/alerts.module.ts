import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { StreamModule } from '../stream/stream.module';
import { AlertDeliveryService } from './alert-delivery.service';
import { AlertEvaluator } from './alert-evaluator.service';
import { AlertStore } from './alert-store';
import { AlertsController } from './alerts.controller';

/** Alert rules, their evaluation from the event stream, and delivery with retries. */
@Module({
  imports: [AuditModule, StreamModule],
  controllers: [AlertsController],
  providers: [AlertStore, AlertDeliveryService, AlertEvaluator],
})
export class AlertsModule {}
