import { Controller, Get, Inject, Res } from '@nestjs/common';
import { SERVICE_CONFIG, type ServiceConfig } from '@swarm-mesh/service-kit';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { createHash } from 'node:crypto';
import { Public } from '../auth/auth.decorators';
import type { GatewayEnv } from '../gateway.env';
import { APP_CSS } from './assets/app-css';
import { APP_JS } from './assets/app-js';
import { INDEX_HTML } from './assets/index-html';

/** Only our own script, styles and the stream; no inline code, no framing. */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function etag(text: string): string {
  return `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"`;
}

const ASSETS = {
  html: { body: INDEX_HTML, type: 'text/html; charset=utf-8', etag: etag(INDEX_HTML) },
  js: { body: APP_JS, type: 'text/javascript; charset=utf-8', etag: etag(APP_JS) },
  css: { body: APP_CSS, type: 'text/css; charset=utf-8', etag: etag(APP_CSS) },
};

/**
 * The dashboard: one page and its script and stylesheet, public (the page asks for an API key
 * and keeps it in sessionStorage; every call it makes is authenticated like any other client's).
 */
@ApiExcludeController()
@Public()
@Controller()
export class DashboardController {
  constructor(@Inject(SERVICE_CONFIG) private readonly config: ServiceConfig<GatewayEnv>) {}

  /** What the page needs besides the API: where to link traces (Jaeger UI), if configured. */
  @Get('dashboard/config.json')
  uiConfig(): { jaegerUiUrl: string | null } {
    return { jaegerUiUrl: this.config.extra.JAEGER_UI_URL?.replace(/\/+$/, '') ?? null };
  }

  private send(reply: FastifyReply, asset: (typeof ASSETS)[keyof typeof ASSETS]): void {
    void reply
      .header('content-type', asset.type)
      .header('cache-control', 'no-cache')
      .header('etag', asset.etag)
      .header('content-security-policy', DASHBOARD_CSP)
      .send(asset.body);
  }

  @Get()
  index(@Res() reply: FastifyReply): void {
    this.send(reply, ASSETS.html);
  }

  @Get('dashboard')
  dashboard(@Res() reply: FastifyReply): void {
    this.send(reply, ASSETS.html);
  }

  @Get('dashboard/app.js')
  script(@Res() reply: FastifyReply): void {
    this.send(reply, ASSETS.js);
  }

  @Get('dashboard/app.css')
  styles(@Res() reply: FastifyReply): void {
    this.send(reply, ASSETS.css);
  }
}
