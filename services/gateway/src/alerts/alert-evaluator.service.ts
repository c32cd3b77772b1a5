import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { type AlertDto, AlertEvents, type AlertRuleDto, GATEWAY_KV_BUCKETS, type MeshEventDto } from '@swarm-mesh/contracts';
import type { MeshBus } from '@swarm-mesh/messaging';
import { LOGGER, MESH_BUS, SERVICE_CONFIG, type ServiceConfig } from '@swarm-mesh/service-kit';
import type { Logger } from '@swarm-mesh/telemetry';
import type { KV } from 'nats';
import type { GatewayEnv } from '../gateway.env';
import { EventHub } from '../stream/event-hub.service';
import { AlertDeliveryService } from './alert-delivery.service';
import { judge, observe, SlidingWindow } from './alert-rules';
import { AlertStore, type NewAlert } from './alert-store';

const LEASE_KEY = 'alert_evaluator';
const RULE_RELOAD_MS = 5_000;
const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Evaluates the alert rules against the EVENTS stream. One gateway replica at a time does it:
 * the holder of the `alert_evaluator` lease in NATS KV (compare-and-set on the entry revision,
 * renewed every third of GATEWAY_ALERT_LEASE_MS; another replica takes over once it lapses).
 * Windows and cooldowns live in the leader's memory (a takeover starts them afresh). A firing
 * stores the alert and its deliveries, publishes `alert.fired` on the EVENTS stream (so every
 * replica's WebSocket clients see it) and starts a delivery round.
 */
@Injectable()
export class AlertEvaluator implements OnApplicationBootstrap, OnModuleDestroy {
  private kv: KV | undefined;
  private leader = false;
  private leaseRevision = 0;
  /** The `expiresAt` of the lease entry this replica last wrote. */
  private heldUntil = 0;
  private renewing = false;
  private rules: AlertRuleDto[] = [];
  private rulesLoadedAt = 0;
  private readonly windows = new Map<string, SlidingWindow>();
  private readonly lastFired = new Map<string, number>();
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  private readonly owner: string;
  private readonly leaseMs: number;
  private readonly tickMs: number;
  private readonly enabled: boolean;
  private firing = Promise.resolve();

  constructor(
    private readonly store: AlertStore,
    private readonly hub: EventHub,
    private readonly delivery: AlertDeliveryService,
    @Inject(MESH_BUS) private readonly bus: MeshBus,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SERVICE_CONFIG) config: ServiceConfig<GatewayEnv>,
  ) {
    this.owner = config.instanceId;
    this.leaseMs = config.extra.GATEWAY_ALERT_LEASE_MS;
    this.tickMs = config.extra.GATEWAY_ALERT_TICK_MS;
    this.enabled = config.extra.GATEWAY_ALERTS_ENABLED;
  }

  /** Whether this replica evaluates (tests). */
  get isLeader(): boolean {
    return this.leader;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.enabled) return;
    this.unsubscribe = this.hub.on(
      (events) => this.onEvents(events),
      () => this.leader && this.rules.length > 0,
    );
    await this.renewLease();
    const lease = setInterval(() => void this.renewLease(), Math.max(100, Math.floor(this.leaseMs / 3)));
    const tick = setInterval(() => this.tick(), this.tickMs);
    lease.unref();
    tick.unref();
    this.timers.push(lease, tick);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.unsubscribe?.();
    await this.firing;
    if (this.leader && this.kv) {
      // hand the lease over at once
      await this.kv.delete(LEASE_KEY, { previousSeq: this.leaseRevision }).catch(() => {});
    }
    this.leader = false;
  }

  /** Tells the evaluator its rules changed (on this replica; others reload within RULE_RELOAD_MS). */
  rulesChanged(): void {
    this.rulesLoadedAt = 0;
    if (this.leader) void this.loadRules();
  }

  /**
   * One renewal at a time (a slow KV answer must not race the next interval's renewal into a
   * "wrong last sequence" against itself). A renewal that fails while our lease still runs (KV
   * slow or briefly unreachable) keeps the leadership: nobody else may take the lease before the
   * `expiresAt` we wrote, and dropping it would throw away every rule's window.
   */
  private async renewLease(): Promise<void> {
    if (this.stopped || this.renewing) return;
    this.renewing = true;
    try {
      this.kv ??= await this.bus.js().views.kv(this.bus.name(GATEWAY_KV_BUCKETS.LEASES), { history: 1 });
      const now = Date.now();
      const value = enc.encode(JSON.stringify({ owner: this.owner, expiresAt: now + this.leaseMs }));
      const e = await this.kv.get(LEASE_KEY);
      let held: { owner?: string; expiresAt?: number } = {};
      if (e && e.operation === 'PUT') {
        try {
          held = JSON.parse(dec.decode(e.value)) as typeof held;
        } catch {
          held = {};
        }
      }
      if (!e || e.operation !== 'PUT') {
        this.leaseRevision = e ? await this.kv.update(LEASE_KEY, value, e.revision) : await this.kv.create(LEASE_KEY, value);
      } else if (held.owner === this.owner || (held.expiresAt ?? 0) < now) {
        this.leaseRevision = await this.kv.update(LEASE_KEY, value, e.revision);
      } else {
        this.setLeader(false);
        return;
      }
      this.heldUntil = now + this.leaseMs;
      this.setLeader(true);
    } catch (err) {
      if (this.leader && Date.now() < this.heldUntil) {
        this.logger.warn('alert evaluator lease renewal failed; the lease still runs, retrying', { error: (err as Error).message });
        return;
      }
      // lost a race or KV unavailable for longer than the lease: not the leader this round
      if (this.leader) this.logger.warn('alert evaluator lease lost', { error: (err as Error).message });
      this.setLeader(false);
    } finally {
      this.renewing = false;
    }
  }

  private setLeader(v: boolean): void {
    if (v === this.leader) return;
    this.leader = v;
    this.logger.info(v ? 'alert evaluator: this replica evaluates alert rules' : 'alert evaluator: another replica evaluates', {});
    this.windows.clear();
    this.rulesLoadedAt = 0;
    if (v) void this.loadRules();
  }

  private async loadRules(): Promise<void> {
    try {
      this.rules = await this.store.enabledRules();
      this.rulesLoadedAt = Date.now();
      const ids = new Set(this.rules.map((r) => r.id));
      for (const k of this.windows.keys()) if (!ids.has(k)) this.windows.delete(k);
      // the hub runs its consumer only while someone wants events: we may just have started to
      this.hub.wake();
    } catch (err) {
      this.logger.warn('loading alert rules failed', { err });
    }
  }

  private tick(): void {
    if (!this.leader) return;
    const now = Date.now();
    if (now - this.rulesLoadedAt > RULE_RELOAD_MS) void this.loadRules();
    for (const r of this.rules) this.windows.get(r.id)?.prune(now, r.windowMs);
    for (const [k, at] of this.lastFired) if (now - at > 7 * 24 * 3600 * 1000) this.lastFired.delete(k);
  }

  private onEvents(events: MeshEventDto[]): void {
    if (!this.leader || this.rules.length === 0) return;
    const now = Date.now();
    for (const e of events) {
      for (const rule of this.rules) {
        if (rule.tenantId !== e.tenantId) continue;
        const o = observe(rule, e);
        if (!o) continue;
        if (o.kind === 'fire') {
          this.maybeFire(rule, o.subject, { title: o.title, message: o.message, data: o.data }, now);
          continue;
        }
        let w = this.windows.get(rule.id);
        if (!w) this.windows.set(rule.id, (w = new SlidingWindow()));
        w.add(now, o.failure);
        w.prune(now, rule.windowMs);
        const verdict = judge(rule, w);
        if (verdict && this.maybeFire(rule, 'window', verdict, now)) w.clear();
      }
    }
  }

  private maybeFire(
    rule: AlertRuleDto,
    subject: string,
    what: { title: string; message: string; data: Record<string, unknown> },
    now: number,
  ): boolean {
    const key = `${rule.id}|${subject}`;
    const last = this.lastFired.get(key);
    if (last !== undefined && now - last < rule.cooldownMs) return false;
    this.lastFired.set(key, now);
    const alert: NewAlert = {
      ruleId: rule.id,
      tenantId: rule.tenantId,
      kind: rule.kind,
      severity: rule.severity,
      title: what.title,
      message: what.message,
      data: { ...what.data, rule: rule.name },
      channels: rule.channels,
    };
    this.firing = this.firing.then(async () => {
      await this.fire(alert);
    });
    return true;
  }

  /** Stores, announces and delivers an alert (also used by the rule test endpoint). */
  async fire(a: NewAlert): Promise<AlertDto | undefined> {
    try {
      const stored = await this.store.insertAlert(a);
      this.logger.info('alert fired', { alertId: stored.id, ruleId: a.ruleId, kind: a.kind, tenantId: a.tenantId });
      this.delivery.kick();
      await this.bus
        .publishDurable(
          AlertEvents.fired,
          {
            source: 'gateway',
            events: [
              {
                type: 'alert.fired',
                ts: stored.firedAt,
                tenantId: stored.tenantId,
                data: {
                  alertId: stored.id,
                  ruleId: stored.ruleId,
                  kind: stored.kind,
                  severity: stored.severity,
                  title: stored.title,
                  message: stored.message,
                },
              },
            ],
          },
          { msgId: `alert:${stored.id}`, retries: 2, ackTimeoutMs: 1_000 },
        )
        .catch((err: unknown) => this.logger.warn('alert.fired not published on the EVENTS stream', { error: (err as Error).message }));
      return stored;
    } catch (err) {
      this.logger.error('storing a fired alert failed', { err, ruleId: a.ruleId });
      return undefined;
    }
  }
}
