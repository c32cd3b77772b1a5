import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditPageDto } from '@swarm-mesh/contracts';
import { ApiKeyService } from '../auth/api-key.service';
import { CurrentPrincipal, RequireRole } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { API_PREFIX } from '../http/api-prefix';
import { ApiErrors, ApiKeyAuth, ApiOkBody, ApiQueryFrom } from '../openapi/api-docs.decorators';
import { ListAuditQuery } from './audit.dto';
import { AuditService } from './audit.service';

/** The audit log of mutating calls (admins; a tenant's admins see their tenant's entries). */
@ApiTags('audit')
@ApiKeyAuth()
@Controller(`${API_PREFIX}/audit`)
export class AuditController {
  constructor(
    private readonly audit: AuditService,
    private readonly keys: ApiKeyService,
  ) {}

  @Get()
  @RequireRole('admin')
  @ApiOperation({
    summary: 'Audit log, newest first',
    description:
      'Every mutating call: who (actor), tenant, action (method and route), target, outcome (pending → succeeded | failed; denied for role refusals), HTTP status, time and trace id. The bootstrap admin key sees every tenant.',
  })
  @ApiQueryFrom(ListAuditQuery)
  @ApiOkBody(AuditPageDto, 'A page of audit entries')
  @ApiErrors(403)
  async list(@Query() q: ListAuditQuery, @CurrentPrincipal() p: Principal): Promise<AuditPageDto> {
    return this.audit.list(this.keys.isBootstrap(p) ? undefined : p.tenantId, q);
  }
}
