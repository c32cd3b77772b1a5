import { Body, Controller, Get, HttpCode, Inject, Injectable, Param, type PipeTransform, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  InstantiateTemplateDto,
  RegisterTemplateDto,
  TEMPLATE_NAME_RE,
  TemplateCommands,
  ValidationError,
  WorkflowDto,
  WorkflowTemplateDto,
  WorkflowTemplatePageDto,
} from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { MESH_BUS } from '@swarm-mesh/service-kit';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { OVERSIZED_WORKFLOW, rethrowOversizedSubmit } from '../tasks/task-input';
import { API_PREFIX } from '../http/api-prefix';
import { ApiBodyFrom, ApiCreatedBody, ApiErrors, ApiKeyAuth, ApiOkBody, ApiPathParam, ApiQueryFrom } from '../openapi/api-docs.decorators';
import { ListTemplatesQuery } from './workflows.dto';

/** A template name path parameter. */
@Injectable()
export class TemplateNamePipe implements PipeTransform<string, string> {
  transform(value: string, meta: { data?: string }): string {
    if (typeof value !== 'string' || !TEMPLATE_NAME_RE.test(value)) {
      const name = meta.data ?? 'name';
      const message = `must match ${TEMPLATE_NAME_RE.source}`;
      throw new ValidationError(`path parameter ${name}: ${message}`, [{ path: name, message, constraint: 'path' }]);
    }
    return value;
  }
}

const TEMPLATE_NAME = ApiPathParam('name', 'Template name', { type: 'string', pattern: TEMPLATE_NAME_RE.source });

/** Reusable workflows: register a named template with parameters, instantiate it by name. */
@ApiTags('workflow-templates')
@ApiKeyAuth()
@Controller(`${API_PREFIX}/workflow-templates`)
export class WorkflowTemplatesController {
  constructor(@Inject(MESH_BUS) private readonly bus: MeshBus) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Register a workflow template',
    description:
      'The workflow may use `${params.<name>}` in node inputs, input mappings, its name and labels. Registering an existing name replaces it as a new version.',
  })
  @ApiBodyFrom(RegisterTemplateDto)
  @ApiCreatedBody(WorkflowTemplateDto, 'The template')
  @ApiErrors(403, 413, 422)
  async register(@Body() template: RegisterTemplateDto, @CurrentPrincipal() p: Principal): Promise<WorkflowTemplateDto> {
    return this.bus
      .request(TemplateCommands.register, { tenantId: p.tenantId, template })
      .catch((err: unknown) => rethrowOversizedSubmit(err, template, this.bus.nc.info?.max_payload, OVERSIZED_WORKFLOW));
  }

  @Get()
  @ApiOperation({ summary: 'List workflow templates by name', description: 'Built-in templates (e.g. `wire-report`) included.' })
  @ApiQueryFrom(ListTemplatesQuery)
  @ApiOkBody(WorkflowTemplatePageDto, 'A page of templates')
  @ApiErrors()
  async list(@Query() q: ListTemplatesQuery, @CurrentPrincipal() p: Principal): Promise<WorkflowTemplatePageDto> {
    return this.bus.request(TemplateCommands.list, { ...q, tenantId: p.tenantId });
  }

  @Get(':name')
  @ApiOperation({ summary: 'Read one workflow template' })
  @TEMPLATE_NAME
  @ApiOkBody(WorkflowTemplateDto, 'The template')
  @ApiErrors(404)
  async get(@Param('name', TemplateNamePipe) name: string, @CurrentPrincipal() p: Principal): Promise<WorkflowTemplateDto> {
    return this.bus.request(TemplateCommands.get, { tenantId: p.tenantId, name });
  }

  @Post(':name/instantiate')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Run a template',
    description: 'Submits the template’s workflow with these parameters (422 INVALID_TEMPLATE_PARAMS when they do not fit).',
  })
  @TEMPLATE_NAME
  @ApiBodyFrom(InstantiateTemplateDto, { required: false })
  @ApiCreatedBody(WorkflowDto, 'The created workflow')
  @ApiErrors(403, 404, 409, 422)
  async instantiate(
    @Param('name', TemplateNamePipe) name: string,
    @Body() body: InstantiateTemplateDto,
    @CurrentPrincipal() p: Principal,
  ): Promise<WorkflowDto> {
    return this.bus.request(TemplateCommands.instantiate, { tenantId: p.tenantId, name, body });
  }
}
