import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { EventHub } from './event-hub.service';
import { StreamController } from './stream.controller';
import { StreamServer } from './stream.server';

/** The EVENTS-stream consumer and the WebSocket live stream. */
@Module({
  imports: [AuthModule],
  controllers: [StreamController],
  providers: [EventHub, StreamServer],
  exports: [EventHub],
})
export class StreamModule {}
