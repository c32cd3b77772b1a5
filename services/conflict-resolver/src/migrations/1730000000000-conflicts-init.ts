import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Detected conflicts and their resolutions: the conflict resolver's own schema. */
export class ConflictsInit1730000000000 implements MigrationInterface {
  name = 'ConflictsInit1730000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE conflicts.conflicts (
        id          uuid PRIMARY KEY,
        tenant_id   text        NOT NULL,
        kind        text        NOT NULL,
        status      text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved', 'dismissed')),
        subject     jsonb       NOT NULL DEFAULT '{}'::jsonb,
        evidence    jsonb       NOT NULL DEFAULT '{}'::jsonb,
        detected_at timestamptz NOT NULL DEFAULT now(),
        resolved_at timestamptz
      )`);
    await q.query(`CREATE INDEX conflicts_open_idx ON conflicts.conflicts (tenant_id, detected_at DESC) WHERE status = 'open'`);
    await q.query(`
      CREATE TABLE conflicts.resolutions (
        id          uuid PRIMARY KEY,
        conflict_id uuid        NOT NULL REFERENCES conflicts.conflicts (id),
        policy      text        NOT NULL,
        actions     jsonb       NOT NULL DEFAULT '[]'::jsonb,
        resolved_by text        NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE conflicts.resolutions`);
    await q.query(`DROP TABLE conflicts.conflicts`);
  }
}
