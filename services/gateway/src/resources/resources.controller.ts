import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Put, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  AllocateSpecDto,
  AllocationDto,
  AllocationViewDto,
  BudgetDto,
  BudgetPageDto,
  BudgetPatchDto,
  BudgetSpecDto,
  ConflictCommands,
  ConflictDto,
  ConflictPageDto,
  MonitoringDto,
  NotFoundError,
  PolicyDto,
  PolicyListDto,
  PolicySpecDto,
  PoolDto,
  PoolPageDto,
  PoolPatchDto,
  PoolSpecDto,
  ReservationDto,
  ReservationPageDto,
  ReservationSpecDto,
  ResolveConflictDto,
  ResourceCommands,
} from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { MESH_BUS } from '@swarm-mesh/service-kit';
import { CurrentPrincipal, RequireRole } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { API_PREFIX } from '../http/api-prefix';
import { memoryPage } from '../http/memory-page';
import { UUID_PARAM_SCHEMA, UuidParamPipe } from '../http/path-params';
import { ApiBodyFrom, ApiCreatedBody, ApiErrors, ApiKeyAuth, ApiOkBody, ApiPathParam, ApiQueryFrom } from '../openapi/api-docs.decorators';
import { ConflictListQuery, PausePoolBody, PolicyListQuery, ResourceListQuery, ResourceViewQuery } from './resources.dto';

const ID = ApiPathParam('id', 'Id', UUID_PARAM_SCHEMA);

/**
 * Provider capacity as a schedulable resource (issue #5). Pools, reservations and budgets are
 * the allocator's; conflicts and policies the conflict resolver's. Each route is one command.
 */
@ApiTags('resources')
@ApiKeyAuth()
@Controller(`${API_PREFIX}/resources`)
export class ResourcesController {
  constructor(@Inject(MESH_BUS) private readonly bus: MeshBus) {}

  // ── the seeds' five endpoints ──

  @Get('allocation')
  @ApiOperation({
    summary: 'Current allocation',
    description: 'Per pool: limits, window usage, each tenant’s slots and leases, live reservations and explicit allocations.',
  })
  @ApiQueryFrom(ResourceViewQuery)
  @ApiOkBody(AllocationViewDto, 'The allocation view')
  @ApiErrors(404)
  allocation(@Query() q: ResourceViewQuery, @CurrentPrincipal() p: Principal): Promise<AllocationViewDto> {
    return this.bus.request(ResourceCommands.allocation, { tenantId: p.tenantId, ...q });
  }

  @Post('allocate')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Allocate capacity explicitly',
    description: 'A lease on a pool outside the task path, granted in full or refused with 429 RATE_LIMITED and Retry-After.',
  })
  @ApiBodyFrom(AllocateSpecDto)
  @ApiCreatedBody(AllocationDto, 'The allocation (a lease with an expiry)')
  @ApiErrors(403, 404, 429)
  allocate(@Body() body: AllocateSpecDto, @CurrentPrincipal() p: Principal): Promise<AllocationDto> {
    return this.bus.request(ResourceCommands.allocate, { tenantId: p.tenantId, allocation: body });
  }

  @Post('allocations/:id/release')
  @HttpCode(200)
  @ApiOperation({ summary: 'Release an explicit allocation before it expires' })
  @ID
  @ApiOkBody(AllocationDto, 'The released allocation')
  @ApiErrors(403, 404)
  release(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<AllocationDto> {
    return this.bus.request(ResourceCommands.releaseAllocation, { tenantId: p.tenantId, allocationId: id });
  }

  @Get('conflicts')
  @ApiOperation({ summary: 'Conflicts, newest first', description: 'Each with its resolutions (automatic by policy, or by hand).' })
  @ApiQueryFrom(ConflictListQuery)
  @ApiOkBody(ConflictPageDto, 'A page of conflicts')
  @ApiErrors()
  conflicts(@Query() q: ConflictListQuery, @CurrentPrincipal() p: Principal): Promise<ConflictPageDto> {
    return this.bus.request(ConflictCommands.list, { tenantId: p.tenantId, ...q });
  }

  @Get('conflicts/:id')
  @ApiOperation({ summary: 'Read one conflict' })
  @ID
  @ApiOkBody(ConflictDto, 'The conflict')
  @ApiErrors(404)
  conflict(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<ConflictDto> {
    return this.bus.request(ConflictCommands.get, { tenantId: p.tenantId, conflictId: id });
  }

  @Post('conflicts/:id/resolve')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Resolve a conflict by hand',
    description: '`preempt` (the named tasks, default the holders the resolver found), `set_policy`, `accept` or `dismiss`.',
  })
  @ID
  @ApiBodyFrom(ResolveConflictDto)
  @ApiOkBody(ConflictDto, 'The conflict with its new resolution')
  @ApiErrors(403, 404, 409)
  resolve(
    @Param('id', UuidParamPipe) id: string,
    @Body() body: ResolveConflictDto,
    @CurrentPrincipal() p: Principal,
  ): Promise<ConflictDto> {
    return this.bus.request(ConflictCommands.resolve, {
      tenantId: p.tenantId,
      conflictId: id,
      resolvedBy: `api-key:${p.keyId}`,
      resolution: body,
    });
  }

  @Get('monitoring')
  @ApiOperation({ summary: 'Utilisation, demand and forecast per pool', description: 'With a scaling signal (`up`, `steady`, `down`).' })
  @ApiQueryFrom(ResourceViewQuery)
  @ApiOkBody(MonitoringDto, 'Monitoring figures')
  @ApiErrors(404)
  monitoring(@Query() q: ResourceViewQuery, @CurrentPrincipal() p: Principal): Promise<MonitoringDto> {
    return this.bus.request(ResourceCommands.monitoring, { tenantId: p.tenantId, ...q });
  }

  // ── pools ──

  @Post('pools')
  @HttpCode(201)
  @RequireRole('admin')
  @ApiOperation({
    summary: 'Create a pool',
    description: 'One per provider × model × key; bound to capabilities; shared with other tenants through `tenants`.',
  })
  @ApiBodyFrom(PoolSpecDto)
  @ApiCreatedBody(PoolDto, 'The pool')
  @ApiErrors(403, 409)
  createPool(@Body() body: PoolSpecDto, @CurrentPrincipal() p: Principal): Promise<PoolDto> {
    return this.bus.request(ResourceCommands.createPool, { tenantId: p.tenantId, pool: body });
  }

  @Get('pools')
  @ApiOperation({ summary: 'List the pools the tenant owns or may use' })
  @ApiQueryFrom(ResourceListQuery)
  @ApiOkBody(PoolPageDto, 'A page of pools')
  @ApiErrors()
  listPools(@Query() q: ResourceListQuery, @CurrentPrincipal() p: Principal): Promise<PoolPageDto> {
    return this.bus.request(ResourceCommands.listPools, { tenantId: p.tenantId, ...q });
  }

  @Get('pools/:id')
  @ApiOperation({ summary: 'Read one pool' })
  @ID
  @ApiOkBody(PoolDto, 'The pool')
  @ApiErrors(404)
  getPool(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<PoolDto> {
    return this.bus.request(ResourceCommands.getPool, { tenantId: p.tenantId, poolId: id });
  }

  @Patch('pools/:id')
  @RequireRole('admin')
  @ApiOperation({ summary: 'Change a pool (limits apply at the next grant)' })
  @ID
  @ApiBodyFrom(PoolPatchDto)
  @ApiOkBody(PoolDto, 'The changed pool')
  @ApiErrors(403, 404)
  updatePool(@Param('id', UuidParamPipe) id: string, @Body() body: PoolPatchDto, @CurrentPrincipal() p: Principal): Promise<PoolDto> {
    return this.bus.request(ResourceCommands.updatePool, { tenantId: p.tenantId, poolId: id, patch: body });
  }

  @Delete('pools/:id')
  @RequireRole('admin')
  @ApiOperation({ summary: 'Delete a pool (and its reservations)' })
  @ID
  @ApiOkBody(PoolDto, 'The deleted pool')
  @ApiErrors(403, 404)
  deletePool(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<PoolDto> {
    return this.bus.request(ResourceCommands.deletePool, { tenantId: p.tenantId, poolId: id });
  }

  @Post('pools/:id/pause')
  @HttpCode(200)
  @ApiOperation({ summary: 'Pause a pool', description: 'No new work is admitted on it; running work goes on.' })
  @ID
  @ApiBodyFrom(PausePoolBody, { required: false })
  @ApiOkBody(PoolDto, 'The paused pool')
  @ApiErrors(403, 404)
  pausePool(@Param('id', UuidParamPipe) id: string, @Body() body: PausePoolBody, @CurrentPrincipal() p: Principal): Promise<PoolDto> {
    return this.bus.request(ResourceCommands.pausePool, { tenantId: p.tenantId, poolId: id, ...(body ?? {}) });
  }

  @Post('pools/:id/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Resume a paused pool (also lifts a provider 429 pause)' })
  @ID
  @ApiOkBody(PoolDto, 'The pool')
  @ApiErrors(403, 404)
  resumePool(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<PoolDto> {
    return this.bus.request(ResourceCommands.resumePool, { tenantId: p.tenantId, poolId: id });
  }

  @Put('pools/:id/policy')
  @RequireRole('admin')
  @ApiOperation({
    summary: 'Set the pool’s contention policy',
    description: 'priority_aging (default), fair_share (with tenant weights), edf, fifo.',
  })
  @ID
  @ApiBodyFrom(PolicySpecDto)
  @ApiOkBody(PolicyDto, 'The policy')
  @ApiErrors(403, 404)
  async setPoolPolicy(
    @Param('id', UuidParamPipe) id: string,
    @Body() body: PolicySpecDto,
    @CurrentPrincipal() p: Principal,
  ): Promise<PolicyDto> {
    // only the pool's owner sets its policy (another tenant's pool answers 404 POOL_NOT_FOUND)
    const pool = await this.bus.request(ResourceCommands.getPool, { tenantId: p.tenantId, poolId: id });
    if (pool.tenantId !== p.tenantId) throw new NotFoundError('pool', id, 'POOL_NOT_FOUND');
    return this.bus.request(ConflictCommands.setPolicy, { tenantId: p.tenantId, poolId: id, policy: body });
  }

  @Put('policies/default')
  @RequireRole('admin')
  @ApiOperation({ summary: 'Set the tenant’s default policy for its pools' })
  @ApiBodyFrom(PolicySpecDto)
  @ApiOkBody(PolicyDto, 'The policy')
  @ApiErrors(403)
  setDefaultPolicy(@Body() body: PolicySpecDto, @CurrentPrincipal() p: Principal): Promise<PolicyDto> {
    return this.bus.request(ConflictCommands.setPolicy, { tenantId: p.tenantId, policy: body });
  }

  @Get('policies')
  @ApiOperation({ summary: 'The tenant’s policies' })
  @ApiQueryFrom(PolicyListQuery)
  @ApiOkBody(PolicyListDto, 'Policies: the tenant default (poolId null) first, then by pool id')
  @ApiErrors()
  async policies(@Query() q: PolicyListQuery, @CurrentPrincipal() p: Principal): Promise<PolicyListDto> {
    const { limit, cursor, ...filter } = q;
    const all = await this.bus.request(ConflictCommands.listPolicies, { tenantId: p.tenantId, ...filter });
    // '' sorts before every uuid: the default policy comes first, as the resolver lists them
    return memoryPage(all.items, (x) => x.poolId ?? '', { limit, cursor });
  }

  // ── reservations ──

  @Post('reservations')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Reserve capacity of a pool for a time window',
    description:
      'Inside the window the capacity is the owner’s; unused, it is lent to others and reclaimed (by preemption if needed). ' +
      'A window that has already ended is refused (400); one that has begun applies from now.',
  })
  @ApiBodyFrom(ReservationSpecDto)
  @ApiCreatedBody(ReservationDto, 'The reservation')
  @ApiErrors(403, 404, 409)
  createReservation(@Body() body: ReservationSpecDto, @CurrentPrincipal() p: Principal): Promise<ReservationDto> {
    return this.bus.request(ResourceCommands.createReservation, { tenantId: p.tenantId, reservation: body });
  }

  @Get('reservations')
  @ApiOperation({ summary: 'List reservations' })
  @ApiQueryFrom(ResourceListQuery)
  @ApiOkBody(ReservationPageDto, 'A page of reservations')
  @ApiErrors()
  listReservations(@Query() q: ResourceListQuery, @CurrentPrincipal() p: Principal): Promise<ReservationPageDto> {
    return this.bus.request(ResourceCommands.listReservations, { tenantId: p.tenantId, ...q });
  }

  @Get('reservations/:id')
  @ApiOperation({ summary: 'Read one reservation' })
  @ID
  @ApiOkBody(ReservationDto, 'The reservation')
  @ApiErrors(404)
  getReservation(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<ReservationDto> {
    return this.bus.request(ResourceCommands.getReservation, { tenantId: p.tenantId, reservationId: id });
  }

  @Delete('reservations/:id')
  @ApiOperation({ summary: 'Cancel a reservation' })
  @ID
  @ApiOkBody(ReservationDto, 'The cancelled reservation')
  @ApiErrors(403, 404)
  deleteReservation(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<ReservationDto> {
    return this.bus.request(ResourceCommands.deleteReservation, { tenantId: p.tenantId, reservationId: id });
  }

  // ── budgets ──

  @Post('budgets')
  @HttpCode(201)
  @RequireRole('admin')
  @ApiOperation({
    summary: 'Create a budget (tenant, or one workflow of it)',
    description: 'Estimated spend is reserved at admission; near the limit the action applies: defer_low, downgrade or reject.',
  })
  @ApiBodyFrom(BudgetSpecDto)
  @ApiCreatedBody(BudgetDto, 'The budget')
  @ApiErrors(403, 409)
  createBudget(@Body() body: BudgetSpecDto, @CurrentPrincipal() p: Principal): Promise<BudgetDto> {
    return this.bus.request(ResourceCommands.createBudget, { tenantId: p.tenantId, budget: body });
  }

  @Get('budgets')
  @ApiOperation({ summary: 'List budgets with their spend and state' })
  @ApiQueryFrom(ResourceListQuery)
  @ApiOkBody(BudgetPageDto, 'A page of budgets')
  @ApiErrors()
  listBudgets(@Query() q: ResourceListQuery, @CurrentPrincipal() p: Principal): Promise<BudgetPageDto> {
    return this.bus.request(ResourceCommands.listBudgets, { tenantId: p.tenantId, ...q });
  }

  @Get('budgets/:id')
  @ApiOperation({ summary: 'Read one budget' })
  @ID
  @ApiOkBody(BudgetDto, 'The budget')
  @ApiErrors(404)
  getBudget(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<BudgetDto> {
    return this.bus.request(ResourceCommands.getBudget, { tenantId: p.tenantId, budgetId: id });
  }

  @Patch('budgets/:id')
  @RequireRole('admin')
  @ApiOperation({ summary: 'Change a budget' })
  @ID
  @ApiBodyFrom(BudgetPatchDto)
  @ApiOkBody(BudgetDto, 'The budget')
  @ApiErrors(403, 404)
  updateBudget(@Param('id', UuidParamPipe) id: string, @Body() body: BudgetPatchDto, @CurrentPrincipal() p: Principal): Promise<BudgetDto> {
    return this.bus.request(ResourceCommands.updateBudget, { tenantId: p.tenantId, budgetId: id, patch: body });
  }

  @Delete('budgets/:id')
  @RequireRole('admin')
  @ApiOperation({ summary: 'Delete a budget' })
  @ID
  @ApiOkBody(BudgetDto, 'The deleted budget')
  @ApiErrors(403, 404)
  deleteBudget(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<BudgetDto> {
    return this.bus.request(ResourceCommands.deleteBudget, { tenantId: p.tenantId, budgetId: id });
  }
}
