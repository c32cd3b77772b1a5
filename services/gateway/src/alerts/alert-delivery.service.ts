import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { AlertDto } from '@swarm-mesh/contracts';
import { LOGGER, SERVICE_CONFIG, type ServiceConfig } from '@swarm-mesh/service-kit';
import type { Logger } from '@swarm-mesh/telemetry';
import type { GatewayEnv } from '../gateway.env';
import { AlertStore, type DueDelivery } from './alert-store';
import { parseSmtpUrl, sendMail, type SmtpTarget } from './smtp-client';

/** The generic webhook body. */
export function webhookBody(a: AlertDto): Record<string, unknown> {
  return {
    type: 'alert.fired',
    alert: {
      id: a.id,
      ruleId: a.ruleId,
      tenantId: a.tenantId,
      kind: a.kind,
      severity: a.severity,
      title: a.title,
      message: a.message,
      data: a.data,
      firedAt: a.firedAt,
    },
  };
}

/** Slack-compatible (incoming webhook) body. */
export function slackBody(a: AlertDto): { text: string } {
  return { text: `[${a.severity.toUpperCase()}] ${a.title}\n${a.message}\n(tenant ${a.tenantId}, ${a.kind}, ${a.firedAt})` };
}

/**
 * Delivers fired alerts: generic JSON webhooks, Slack-compatible webhooks (`{text}`) and e-mail
 * over SMTP. Each delivery is retried after the delays of GATEWAY_ALERT_RETRY_MS, then marked
 * failed. Every replica runs this loop; deliveries are claimed with SKIP LOCKED, so each
 * attempt is made by one replica.
 */
@Injectable()
export class AlertDeliveryService implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private readonly retryMs: number[];
  private readonly timeoutMs: number;
  private readonly tickMs: number;
  private readonly smtp: SmtpTarget | undefined;
  private readonly from: string;
  private readonly enabled: boolean;
  private inflight: Promise<void> | undefined;

  constructor(
    private readonly store: AlertStore,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SERVICE_CONFIG) config: ServiceConfig<GatewayEnv>,
  ) {
    const x = config.extra;
    this.retryMs = x.GATEWAY_ALERT_RETRY_MS.split(',').map(Number);
    this.timeoutMs = x.GATEWAY_ALERT_HTTP_TIMEOUT_MS;
    this.tickMs = x.GATEWAY_ALERT_TICK_MS;
    this.smtp = x.SMTP_URL ? parseSmtpUrl(x.SMTP_URL) : undefined;
    this.from = x.SMTP_FROM;
    this.enabled = x.GATEWAY_ALERTS_ENABLED;
  }

  onApplicationBootstrap(): void {
    if (!this.enabled) return;
    this.timer = setInterval(() => this.kick(), this.tickMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.inflight;
  }

  /** Runs a delivery round now (after an alert fired) unless one is running. */
  kick(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.inflight = this.round()
      .catch((err: unknown) => this.logger.warn('alert delivery round failed', { err }))
      .finally(() => {
        this.running = false;
      });
  }

  private async round(): Promise<void> {
    for (;;) {
      const due = await this.store.claimDue(20, this.timeoutMs + 5_000);
      if (due.length === 0 || this.stopped) return;
      await Promise.all(due.map((d) => this.attempt(d)));
    }
  }

  private async attempt(d: DueDelivery): Promise<void> {
    try {
      await this.send(d);
      await this.store.deliveryDone(d.id);
    } catch (err) {
      const attempt = d.attempts + 1;
      const retryIn = attempt <= this.retryMs.length ? this.retryMs[attempt - 1]! : null;
      const message = (err as Error).message ?? String(err);
      this.logger.warn('alert delivery failed', { alertId: d.alert.id, channel: d.channel, attempt, retryInMs: retryIn, error: message });
      await this.store.deliveryFailed(d.id, message, retryIn);
    }
  }

  private async send(d: DueDelivery): Promise<void> {
    if (d.channel === 'email') {
      if (!this.smtp) throw new Error('SMTP_URL is not configured on the gateway');
      const a = d.alert;
      await sendMail(
        this.smtp,
        {
          from: this.from,
          to: d.target.split(',').filter(Boolean),
          subject: `[swarm-mesh] [${a.severity}] ${a.title}`,
          text: `${a.message}\n\nTenant: ${a.tenantId}\nKind: ${a.kind}\nFired: ${a.firedAt}\nAlert: ${a.id}\n\n${JSON.stringify(a.data, null, 2)}\n`,
        },
        this.timeoutMs,
      );
      return;
    }
    const body = d.channel === 'slack' ? slackBody(d.alert) : webhookBody(d.alert);
    const res = await fetch(d.target, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'swarm-mesh-gateway' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.timeoutMs),
      redirect: 'error',
    });
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`HTTP ${res.status} from the webhook`);
  }
}
