import { Body, Controller, Get, HttpCode, Inject, Injectable, Param, type PipeTransform, Put, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { FLAGS, FlagDto, FlagListDto, type FlagName, isFlagName, NotFoundError, SetFlagDto, ValidationError } from '@swarm-mesh/contracts';
import type { FlagStore } from '@swarm-mesh/messaging';
import { FLAGS as FLAG_STORE } from '@swarm-mesh/service-kit';
import { CurrentPrincipal, PlatformTenantOnly, RequireRole } from '../auth/auth.decorators';
import { actorOf, type Principal } from '../auth/principal';
import { API_PREFIX } from '../http/api-prefix';
import { MemoryPageQuery, memoryPage } from '../http/memory-page';
import {
  ApiBodyFrom,
  ApiErrorResponse,
  ApiErrors,
  ApiKeyAuth,
  ApiOkBody,
  ApiPathParam,
  ApiQueryFrom,
} from '../openapi/api-docs.decorators';

const FLAG_NAME_PARAM = /^[a-z][a-z0-9_.]{0,99}$/;

/** A flag name path parameter: malformed → 400, well-formed but unknown → 404. */
@Injectable()
export class FlagNamePipe implements PipeTransform<string, FlagName> {
  transform(value: string): FlagName {
    if (typeof value !== 'string' || !FLAG_NAME_PARAM.test(value)) {
      throw new ValidationError('path parameter name: not a flag name', [{ path: 'name', message: 'not a flag name', constraint: 'path' }]);
    }
    if (!isFlagName(value)) throw new NotFoundError('flag', value);
    return value;
  }
}

const NAME = ApiPathParam('name', 'Flag name', { type: 'string', enum: Object.keys(FLAGS) });

/**
 * Runtime feature flags (NATS KV bucket `swarm_flags`, watched by every service): read by any
 * key. Flags are mesh-wide (one value for every tenant), so only operator and admin keys of the
 * platform tenant (the bootstrap key's, `default`) may change them; other tenants' keys get 403.
 * A change applies everywhere within a moment.
 */
@ApiTags('flags')
@ApiKeyAuth()
@Controller(`${API_PREFIX}/flags`)
export class FlagsController {
  constructor(@Inject(FLAG_STORE) private readonly flags: FlagStore) {}

  private dto(name: FlagName): FlagDto {
    const f = this.flags.list().find((x) => x.name === name)!;
    return { ...f, default: FLAGS[name].default };
  }

  @Get()
  @ApiOperation({ summary: 'Every runtime flag with its value', description: Object.keys(FLAGS).join(', ') })
  @ApiQueryFrom(MemoryPageQuery)
  @ApiOkBody(FlagListDto, 'The flags, by name')
  @ApiErrors()
  list(@Query() q: MemoryPageQuery): FlagListDto {
    return memoryPage(
      (Object.keys(FLAGS) as FlagName[]).map((n) => this.dto(n)),
      (f) => f.name,
      q,
    );
  }

  @Get(':name')
  @ApiOperation({ summary: 'Read one flag' })
  @NAME
  @ApiOkBody(FlagDto, 'The flag')
  @ApiErrors(404)
  get(@Param('name', FlagNamePipe) name: FlagName): FlagDto {
    return this.dto(name);
  }

  @Put(':name')
  @HttpCode(200)
  @RequireRole('operator')
  @PlatformTenantOnly('runtime flags apply to every tenant')
  @ApiOperation({
    summary: 'Turn a flag on or off',
    description:
      'Stored in NATS KV; every service sees the change at once. Flags are mesh-wide, so only operator and admin keys of the ' +
      "platform tenant (the bootstrap key's, `default`) may change them; keys of other tenants, their admins included, are " +
      'refused (403, audited as denied).',
  })
  @NAME
  @ApiBodyFrom(SetFlagDto)
  @ApiOkBody(FlagDto, 'The flag after the change')
  @ApiErrors(404)
  @ApiErrorResponse(
    403,
    'FORBIDDEN: a viewer key, or a key of a tenant other than the platform tenant (flags are mesh-wide; other tenants may only read them)',
  )
  async set(@Param('name', FlagNamePipe) name: FlagName, @Body() body: SetFlagDto, @CurrentPrincipal() p: Principal): Promise<FlagDto> {
    await this.flags.set(name, body.enabled, actorOf(p));
    return this.dto(name);
  }
}
