/**
 * The SDK's wire types are generated from the server's message schemas
 * (scripts/sdk-wire-types.ts → packages/client/src/wire.generated.ts). This fails as soon as a
 * schema changed and the committed file was not regenerated (`npm run sdk:types`), so the SDK
 * cannot drift from what the server sends. The SDK's own channel message types are checked
 * against the generated ones by tsc (the end of packages/client/src/types.ts).
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { WIRE_FILE, renderWireTypes } from '../../scripts/sdk-wire-types.js'
import * as sdk from '../../packages/client/src/index.js'
import { EVENT_TYPE } from '../../src/modules/user-events/user-events.types.js'

t.test('wire.generated.ts is what the schemas generate', async (t) => {
  t.equal(readFileSync(WIRE_FILE, 'utf8'), renderWireTypes(), 'run `npm run sdk:types` after changing a message schema')
})

t.test('the SDK exports the server\'s user event numbers', async (t) => {
  t.strictSame(sdk.USER_EVENT, EVENT_TYPE)
})
