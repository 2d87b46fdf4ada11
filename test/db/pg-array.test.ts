/**
 * The array literals the telemetry writer passes read back as the same values on PostgreSQL and
 * on PGlite: quotes, backslashes, commas, braces, blanks, the text "NULL", real nulls, non-ASCII,
 * repeated values, and numbers in every form JavaScript prints (exponents, negative, integers).
 */
import t, { type Test } from 'tap'
import pg from 'pg'
import { PGlite } from '@electric-sql/pglite'
import { freshDatabase } from '../helper.js'
import { numberArrayLiteral, textArrayLiteral } from '../../src/db/pg-array.js'

const texts: Array<string | null> = ['plain', 'plain', 'a"b', 'back\\slash', '\\"', 'a,b', '{x}', ' lead and trail ', 'NULL', null, null, '', '°C', 'ünïcödé 😀', 'tab\there', 'plain']
const floats = [0, 1, -1, 0.1, 1 / 3, 1e300, -1e300, 5e-324, 123456789.123, 2 ** 53, -2.5e-10]
const ints = [0, 1, -1, 2147483647, -2147483648, 42]
const stamps = ['2026-12-02T05:00:00.000Z', '2026-12-02T05:00:00.000Z', '1970-01-01T00:00:00.000Z', '2024-02-29T23:59:59.999Z']

const SQL = 'select $1::text[] as t, $2::float8[] as f, $3::int[] as i, $4::timestamptz[] as ts, $5::text[] as e, $6::float8[] as ef'
const params = [textArrayLiteral(texts), numberArrayLiteral(floats), numberArrayLiteral(ints), textArrayLiteral(stamps), textArrayLiteral([]), numberArrayLiteral([])]

function check(t: Test, row: { t: unknown; f: unknown; i: unknown; ts: Date[]; e: unknown; ef: unknown }) {
  t.same(row.t, texts, 'text[]')
  t.same(row.f, floats, 'float8[] (exact)')
  t.same(row.i, ints, 'int[]')
  t.same(row.ts.map((d) => new Date(d).toISOString()), stamps, 'timestamptz[]')
  t.same(row.e, [], 'empty text[]')
  t.same(row.ef, [], 'empty float8[]')
}

t.test('PostgreSQL', async (t) => {
  const client = new pg.Client({ connectionString: await freshDatabase(t) })
  await client.connect()
  t.teardown(() => client.end())
  check(t, (await client.query(SQL, params)).rows[0])
})

t.test('PGlite', async (t) => {
  const db = await PGlite.create()
  t.teardown(() => db.close())
  check(t, (await db.query<Parameters<typeof check>[1]>(SQL, params)).rows[0]!)
})
