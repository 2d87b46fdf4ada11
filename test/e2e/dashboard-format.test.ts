/**
 * The dashboard's number and time formatting (web/src/lib/format.ts), run in Node: sizes in
 * binary units through pretty-bytes, relative times through Intl.RelativeTimeFormat in the
 * runtime's language (English here), and the placeholders for missing values.
 */
import t from 'tap'
import { ago, bytes } from '../../web/src/lib/format.js'

t.test('sizes', async (t) => {
  t.equal(bytes(0), '0 B')
  t.equal(bytes(512), '512 B')
  t.equal(bytes(1536), '1.5 KiB')
  t.equal(bytes(100 * 1024 * 1024), '100 MiB')
  t.equal(bytes(123.4 * 1024 * 1024), '123 MiB')
  t.equal(bytes(3 * 1024 ** 3), '3 GiB')
  for (const missing of [null, undefined, Number.NaN, Number.POSITIVE_INFINITY]) t.equal(bytes(missing), '—')
})

t.test('relative times', async (t) => {
  const now = Date.parse('2026-06-01T12:00:00Z')
  const before = (ms: number) => new Date(now - ms).toISOString()
  t.equal(ago(before(2_000), now), 'just now')
  t.equal(ago(before(12_000), now), '12 seconds ago')
  t.equal(ago(before(60_000), now), '1 minute ago')
  t.equal(ago(before(5 * 60_000 + 10_000), now), '5 minutes ago')
  t.equal(ago(before(3 * 3_600_000), now), '3 hours ago')
  t.equal(ago(before(-30_000), now), 'just now', 'a clock slightly ahead is not "in 30 seconds"')
  t.equal(ago(before(3 * 86_400_000), now), new Date(now - 3 * 86_400_000).toLocaleDateString(), 'older: the date')
  t.equal(ago(null, now), 'never')
  t.equal(ago('not a time', now), '—')
})
