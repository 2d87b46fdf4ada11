/**
 * The SDK carries its own copy of the close-code table (it must not import server code). This
 * test fails as soon as the copy and THE table in src/modules/realtime/close-codes.ts differ in
 * any code, reason, reconnect flag or meaning, so the two cannot drift.
 */
import t from 'tap'
import * as server from '../../src/modules/realtime/close-codes.js'
import * as sdk from '../../packages/client/src/close-codes.js'

t.test('the SDK close-code table is identical to the server table', async (t) => {
  t.strictSame(sdk.CLOSE, server.CLOSE, 'same names, codes, reasons, reconnect flags and meanings')
  t.strictSame(Object.keys(sdk.CLOSE), Object.keys(server.CLOSE), 'same order')
})

t.test('isTerminal agrees for every documented code and for unknown ones', async (t) => {
  for (const c of Object.values(server.CLOSE)) {
    t.equal(sdk.isTerminal(c.code), server.isTerminal(c.code), `code ${c.code}`)
    t.equal(sdk.isTerminal(c.code), !c.reconnect)
  }
  for (const code of [1005, 1006, 1012, 1013, 4000, 4999]) {
    t.equal(sdk.isTerminal(code), false, `undocumented ${code} reconnects`)
    t.equal(server.isTerminal(code), false)
  }
})
