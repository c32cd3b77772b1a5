import { pgArray } from '@swarm-mesh/persistence';
import { adminDatabaseUrl } from '@swarm-mesh/testing';
import fc from 'fast-check';
import { Client } from 'pg';

/** pgArray's literals, read back by Postgres, give exactly the values that went in. */
describe('pgArray', () => {
  let pg: Client;

  beforeAll(async () => {
    pg = new Client({ connectionString: adminDatabaseUrl() });
    await pg.connect();
  });

  afterAll(async () => {
    await pg?.end();
  });

  const roundTrip = async <T>(literal: string, type: string): Promise<T[]> =>
    (await pg.query<{ v: T[] }>(`SELECT $1::${type}[] AS v`, [literal])).rows[0]!.v;

  it('round-trips strings with quotes, backslashes, commas, braces, unicode and the word NULL; null stays NULL', async () => {
    const values = ['plain', 'a"b', 'back\\slash', '\\"both\\"', 'a,b', '{braces}', ' spaced ', '', 'NULL', 'null', 'ünï ✓', null];
    expect(await roundTrip<string | null>(pgArray(values), 'text')).toEqual(values);
  });

  it('round-trips JSON text into jsonb[], numbers into float8[] and bigint[], booleans, uuids', async () => {
    const docs = [{ a: 'x"y', b: ['\\', 1.5, null], c: { d: true } }, {}, []];
    expect(await roundTrip(pgArray(docs.map((d) => JSON.stringify(d))), 'jsonb')).toEqual(docs);
    expect(await roundTrip(pgArray([1.5, -2, 1732000000000.25, null]), 'float8')).toEqual([1.5, -2, 1732000000000.25, null]);
    expect(await roundTrip(pgArray([4294967297, 0, null]), 'bigint')).toEqual(['4294967297', '0', null]);
    expect(await roundTrip(pgArray([true, false, null]), 'boolean')).toEqual([true, false, null]);
    const id = '8b0a5b7e-3f2d-4c1e-9a6b-2d4f6e8a0c1b';
    expect(await roundTrip(pgArray([id, undefined]), 'uuid')).toEqual([id, null]);
  });

  it('any string survives the trip (1,000 generated cases)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.string({ unit: 'binary', maxLength: 40 }), { nil: null }), { maxLength: 8 }),
        async (values) => {
          // Postgres text cannot hold NUL
          const clean = values.map((v) => (v === null ? null : v.split(String.fromCharCode(0)).join('')));
          expect(await roundTrip<string | null>(pgArray(clean), 'text')).toEqual(clean);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('refuses numbers Postgres could not read back as written', () => {
    expect(() => pgArray([Number.NaN])).toThrow(RangeError);
    expect(() => pgArray([Number.POSITIVE_INFINITY])).toThrow(RangeError);
  });
});
