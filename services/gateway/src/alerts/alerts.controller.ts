import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  ALERT_KINDS,
  AlertDto,
  AlertPageDto,
  AlertRuleDto,
  AlertRulePageDto,
  CreateAlertRuleDto,
  DatabaseUnavailableError,
  UpdateAlertRuleDto,
} from '@swarm-mesh/contracts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AuditedInTransaction } from '../audit/audit.interceptor';
import { auditStartOf } from '../audit/audit.service';
import { CurrentPrincipal, RequireRole } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { API_PREFIX } from '../http/api-prefix';
import { UUID_PARAM_SCHEMA, UuidParamPipe } from '../http/path-params';
import { ApiBodyFrom, ApiCreatedBody, ApiErrors, ApiKeyAuth, ApiOkBody, ApiPathParam, ApiQueryFrom } from '../openapi/api-docs.decorators';
import { AlertEvaluator } from './alert-evaluator.service';
import { AlertStore } from './alert-store';
import { ListAlertRulesQuery, ListAlertsQuery } from './alerts.dto';

const RULE_ID = ApiPathParam('id', 'Alert rule id', UUID_PARAM_SCHEMA);
const ALERT_ID = ApiPathParam('id', 'Alert id', UUID_PARAM_SCHEMA);

/**
 * Alerts: rules (admins) evaluated by the gateway from the EVENTS stream, fired alerts with their
 * deliveries to webhooks (generic JSON, Slack-compatible) and e-mail (SMTP), retried with backoff.
 */
@ApiTags('alerts')
@ApiKeyAuth()
@Controller(`${API_PREFIX}/alerts`)
export class AlertsController {
  constructor(
    private readonly store: AlertStore,
    private readonly evaluator: AlertEvaluator,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Fired alerts, newest first', description: 'With the state of each delivery.' })
  @ApiQueryFrom(ListAlertsQuery)
  @ApiOkBody(AlertPageDto, 'A page of alerts')
  @ApiErrors()
  async list(@Query() q: ListAlertsQuery, @CurrentPrincipal() p: Principal): Promise<AlertPageDto> {
    return this.store.listAlerts(p.tenantId, q);
  }

  @Get('rules')
  @ApiOperation({ summary: 'Alert rules, newest first' })
  @ApiQueryFrom(ListAlertRulesQuery)
  @ApiOkBody(AlertRulePageDto, 'A page of rules')
  @ApiErrors()
  async listRules(@Query() q: ListAlertRulesQuery, @CurrentPrincipal() p: Principal): Promise<AlertRulePageDto> {
    return this.store.listRules(p.tenantId, q);
  }

  @Post('rules')
  @HttpCode(201)
  @RequireRole('admin')
  @AuditedInTransaction()
  @ApiOperation({
    summary: 'Create an alert rule',
    description: `Kinds: ${ALERT_KINDS.join(', ')}. Channels: webhook {url}, slack {url}, email {to[]}. threshold: a count (dead_letter_growth, integer ≥ 1, default 1), a ratio 0..1 (error_rate default 0.5, budget_near_limit default 0.9) or ms (sla_missed); agent_died, pool_exhausted and regression_detected use none (a value is kept and ignored). A threshold outside its kind's range is 400 VALIDATION_FAILED (violation on threshold).`,
  })
  @ApiBodyFrom(CreateAlertRuleDto)
  @ApiCreatedBody(AlertRuleDto, 'The rule')
  @ApiErrors(403)
  async createRule(
    @Body() body: CreateAlertRuleDto,
    @CurrentPrincipal() p: Principal,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<AlertRuleDto> {
    const rule = await this.store.createRule(p.tenantId, body, auditStartOf(req, reply, p));
    this.evaluator.rulesChanged();
    return rule;
  }

  @Get('rules/:id')
  @ApiOperation({ summary: 'Read one alert rule' })
  @RULE_ID
  @ApiOkBody(AlertRuleDto, 'The rule')
  @ApiErrors(404)
  async getRule(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<AlertRuleDto> {
    return this.store.getRule(p.tenantId, id);
  }

  @Patch('rules/:id')
  @HttpCode(200)
  @RequireRole('admin')
  @AuditedInTransaction()
  @ApiOperation({
    summary: 'Change an alert rule (any subset of its fields)',
    description: 'A threshold is checked against the range of the rule’s kind (see POST /alerts/rules): outside it, 400 VALIDATION_FAILED.',
  })
  @RULE_ID
  @ApiBodyFrom(UpdateAlertRuleDto)
  @ApiOkBody(AlertRuleDto, 'The rule after the change')
  @ApiErrors(403, 404)
  async updateRule(
    @Param('id', UuidParamPipe) id: string,
    @Body() body: UpdateAlertRuleDto,
    @CurrentPrincipal() p: Principal,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<AlertRuleDto> {
    const rule = await this.store.updateRule(p.tenantId, id, body, auditStartOf(req, reply, p));
    this.evaluator.rulesChanged();
    return rule;
  }

  @Delete('rules/:id')
  @HttpCode(200)
  @RequireRole('admin')
  @AuditedInTransaction()
  @ApiOperation({ summary: 'Delete an alert rule', description: 'Alerts it fired stay.' })
  @RULE_ID
  @ApiOkBody(AlertRuleDto, 'The deleted rule')
  @ApiErrors(403, 404)
  async deleteRule(
    @Param('id', UuidParamPipe) id: string,
    @CurrentPrincipal() p: Principal,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<AlertRuleDto> {
    const rule = await this.store.deleteRule(p.tenantId, id, auditStartOf(req, reply, p));
    this.evaluator.rulesChanged();
    return rule;
  }

  @Post('rules/:id/test')
  @HttpCode(201)
  @RequireRole('admin')
  @ApiOperation({ summary: 'Fire a test alert through the rule’s channels', description: 'Answers the stored alert; deliveries follow.' })
  @RULE_ID
  @ApiCreatedBody(AlertDto, 'The test alert')
  @ApiErrors(403, 404)
  async testRule(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<AlertDto> {
    const rule = await this.store.getRule(p.tenantId, id);
    const alert = await this.evaluator.fire({
      ruleId: rule.id,
      tenantId: rule.tenantId,
      kind: rule.kind,
      severity: rule.severity,
      title: `Test alert: ${rule.name}`,
      message: `A test of alert rule "${rule.name}" (${rule.kind}), requested through the API.`,
      data: { test: true, rule: rule.name },
      channels: rule.channels,
    });
    if (!alert) throw new DatabaseUnavailableError('the alert could not be stored');
    return alert;
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read one fired alert with its deliveries' })
  @ALERT_ID
  @ApiOkBody(AlertDto, 'The alert')
  @ApiErrors(404)
  async get(@Param('id', UuidParamPipe) id: string, @CurrentPrincipal() p: Principal): Promise<AlertDto> {
    return this.store.getAlert(p.tenantId, id);
  }
}
