import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyDto, ApiKeyPageDto, ApiKeySecretDto, CreateApiKeyDto } from '@swarm-mesh/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuditedInTransaction } from '../audit/audit.interceptor';
import { auditStartOf } from '../audit/audit.service';
import { CurrentPrincipal, RequireRole } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { API_PREFIX } from '../http/api-prefix';
import { UUID_PARAM_SCHEMA, UuidParamPipe } from '../http/path-params';
import {
  ApiBodyFrom,
  ApiCreatedBody,
  ApiErrorResponse,
  ApiErrors,
  ApiKeyAuth,
  ApiOkBody,
  ApiPathParam,
  ApiQueryFrom,
} from '../openapi/api-docs.decorators';
import { ListApiKeysQuery } from './api-keys.dto';
import { ApiKeysService } from './api-keys.service';

const KEY_ID = ApiPathParam('id', 'API key id', UUID_PARAM_SCHEMA);

/** API key management (admins): create (the secret is shown once), list, rotate, revoke. */
@ApiTags('api-keys')
@ApiKeyAuth()
@RequireRole('admin')
@Controller(`${API_PREFIX}/api-keys`)
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @HttpCode(201)
  @AuditedInTransaction()
  @ApiOperation({
    summary: 'Create an API key',
    description:
      'Answers the key once (`key`): store it, it cannot be read again. Keys are 256-bit random, stored hashed. Roles: viewer (read), operator (submit, cancel, drain, flags), admin (keys, audit, alerts). Runtime flags are mesh-wide: only operator and admin keys of the platform tenant (default) may change them. The bootstrap admin key may create keys for any tenant.',
  })
  @ApiBodyFrom(CreateApiKeyDto)
  @ApiCreatedBody(ApiKeySecretDto, 'The new key (shown once) and its record')
  @ApiErrors(403)
  async create(
    @Body() body: CreateApiKeyDto,
    @CurrentPrincipal() p: Principal,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ApiKeySecretDto> {
    void reply.header('cache-control', 'no-store');
    return this.keys.create(p, body, auditStartOf(req, reply, p));
  }

  @Get()
  @ApiOperation({ summary: 'List API keys, newest first', description: 'Never the secrets. Revoked keys only with includeRevoked=true.' })
  @ApiQueryFrom(ListApiKeysQuery)
  @ApiOkBody(ApiKeyPageDto, 'A page of keys')
  @ApiErrors(403)
  async list(@Query() q: ListApiKeysQuery, @CurrentPrincipal() p: Principal): Promise<ApiKeyPageDto> {
    return this.keys.list(p, q);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read one API key' })
  @KEY_ID
  @ApiOkBody(ApiKeyDto, 'The key (never the secret)')
  @ApiErrors(403, 404)
  async get(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<ApiKeyDto> {
    return this.keys.get(p, id);
  }

  @Post(':id/rotate')
  @HttpCode(200)
  @AuditedInTransaction()
  @ApiOperation({
    summary: 'Rotate an API key',
    description:
      'Revokes the key and answers a new one with the same name, tenant, role and rate limit (shown once). ' +
      'A revoked key (revoked or already rotated) cannot be rotated: 409 INVALID_STATE_TRANSITION.',
  })
  @KEY_ID
  @ApiOkBody(ApiKeySecretDto, 'The replacement key (shown once) and its record')
  @ApiErrors(403, 404)
  @ApiErrorResponse(409, 'INVALID_STATE_TRANSITION: the key is revoked (or was already rotated); revoked keys cannot be rotated')
  async rotate(
    @Param('id', UuidParamPipe) id: string,
    @CurrentPrincipal() p: Principal,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ApiKeySecretDto> {
    void reply.header('cache-control', 'no-store');
    return this.keys.rotate(p, id, auditStartOf(req, reply, p));
  }

  @Delete(':id')
  @HttpCode(200)
  @AuditedInTransaction()
  @ApiOperation({
    summary: 'Revoke an API key',
    description:
      'Takes effect at once on every gateway replica. Idempotent: revoking a revoked key answers it unchanged (200, its first revokedAt).',
  })
  @KEY_ID
  @ApiOkBody(ApiKeyDto, 'The revoked key')
  @ApiErrors(403, 404)
  async revoke(
    @Param('id', UuidParamPipe) id: string,
    @CurrentPrincipal() p: Principal,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ApiKeyDto> {
    return this.keys.revoke(p, id, auditStartOf(req, reply, p));
  }
}
