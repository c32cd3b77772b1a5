import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { WhoAmIDto } from '@swarm-mesh/contracts';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { API_PREFIX } from '../http/api-prefix';
import { ApiErrors, ApiKeyAuth, ApiOkBody } from '../openapi/api-docs.decorators';

@ApiTags('auth')
@ApiKeyAuth()
@Controller(`${API_PREFIX}/auth`)
export class WhoAmIController {
  @Get('whoami')
  @ApiOperation({ summary: 'The caller: tenant, role and key id of the presented API key (the dashboard’s login check)' })
  @ApiOkBody(WhoAmIDto, 'The caller')
  @ApiErrors()
  whoami(@CurrentPrincipal() p: Principal): WhoAmIDto {
    return { tenantId: p.tenantId, role: p.role, keyId: p.keyId, name: p.name ?? null };
  }
}
