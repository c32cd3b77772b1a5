import { Module } from '@nestjs/common';
import { DashboardController } from './dashboard.controller';

/** The web dashboard served at /. */
@Module({ controllers: [DashboardController] })
export class DashboardModule {}
