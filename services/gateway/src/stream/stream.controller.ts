import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { ErrorCode } from '@swarm-mesh/contracts';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators';
import { API_PREFIX } from '../http/api-prefix';
import { ApiErrorResponse } from '../openapi/api-docs.decorators';

/**
 * The code of the 426 a plain GET gets. No error code means "upgrade required", and the request is
 * one the route cannot take (it needs the WebSocket handshake), so it is VALIDATION_FAILED with
 * HTTP status 426 and `details.upgrade`.
 */
const UPGRADE_REQUIRED_CODE: ErrorCode = 'VALIDATION_FAILED';

/**
 * Documents the WebSocket stream in the OpenAPI document. The upgrade itself is handled by
 * StreamServer before routing; a plain HTTP GET gets 426 Upgrade Required (code VALIDATION_FAILED).
 */
@ApiTags('stream')
@Controller(`${API_PREFIX}/stream`)
export class StreamController {
  @Get()
  @Public()
  @ApiOperation({
    summary: 'Live event stream (WebSocket)',
    description:
      'Open a WebSocket to this path. Authenticate with `?token=<api key>` (or the Authorization / x-api-key header). ' +
      'Each message is `{"type": "task.succeeded", "ts": "…", "data": {…}}`; the first is `stream.ready`. ' +
      'Filters (comma-separated lists): tenant (your own; the bootstrap key may name any or `*`), kind (`task` or `task.succeeded`…), task, workflow, agent. ' +
      'Change them later by sending `{"type":"subscribe","filters":{"kind":"agent"}}`; `{"type":"ping"}` answers `pong`. ' +
      'Event kinds: task.*, agent.*, workflow.*, alert.fired, flag.changed, and whatever other services publish on the EVENTS stream. ' +
      'A slow client loses events and receives `stream.dropped` {count}. Closing codes: 4401 key revoked, 1001 gateway stopping.',
  })
  @ApiQuery({ name: 'token', required: false, schema: { type: 'string' }, description: 'API key' })
  @ApiQuery({ name: 'tenant', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'kind', required: false, schema: { type: 'string' }, example: 'task,agent.state_changed' })
  @ApiQuery({ name: 'task', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'workflow', required: false, schema: { type: 'string' } })
  @ApiQuery({ name: 'agent', required: false, schema: { type: 'string' } })
  @ApiResponse({ status: 101, description: 'Switching Protocols: the WebSocket is open' })
  @ApiErrorResponse(
    426,
    `${UPGRADE_REQUIRED_CODE} (HTTP 426 Upgrade Required, details.upgrade = "websocket"): a plain HTTP request; open a WebSocket instead`,
  )
  upgradeRequired(@Res() reply: FastifyReply): void {
    void reply
      .status(426)
      .header('upgrade', 'websocket')
      .send({
        code: UPGRADE_REQUIRED_CODE,
        message: 'open a WebSocket to /api/v1/stream (?token=<api key>)',
        details: { upgrade: 'websocket' },
      });
  }
}
