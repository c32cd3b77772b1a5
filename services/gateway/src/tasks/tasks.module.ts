import { Module } from '@nestjs/common';
import { TaskSubmitter } from './task-submitter';
import { TasksController } from './tasks.controller';

@Module({ controllers: [TasksController], providers: [TaskSubmitter] })
export class TasksModule {}
