import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 9: the completion of an audit entry (pending → succeeded/failed, one UPDATE per mutating
 * call) becomes a HOT update — the new row version stays on its page and no index is touched.
 * It was not HOT because the partial index `audit_log_pending_idx` (`WHERE outcome = 'pending'`)
 * depends on the column the completion changes, and full pages leave no room for the new
 * version. No query needs that index (`GET /audit?outcome=` reads by tenant and time), so it
 * goes, and new pages keep 30 % free for the completions of their own rows.
 */
export class GatewayAuditHotCompletion1732000000000 implements MigrationInterface {
  name = 'GatewayAuditHotCompletion1732000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS gateway.audit_log_pending_idx`);
    await q.query(`ALTER TABLE gateway.audit_log SET (fillfactor = 70)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE gateway.audit_log RESET (fillfactor)`);
    await q.query(`CREATE INDEX audit_log_pending_idx ON gateway.audit_log (at) WHERE outcome = 'pending'`);
  }
}
