/**
 * Schemas of the messages a client may send on the user events socket. Only the echo event is
 * meant to be sent (the original client's `IEchoEvent`); everything else is answered with an ERROR event.
 */
import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { EVENT_TYPE, LIMITS } from './user-events.types.js'

export const EchoMessage = Type.Object(
  {
    eventType: Type.Literal(EVENT_TYPE.ECHO),
    message: Type.String({ maxLength: LIMITS.maxInboundBytes, description: 'Sent back unchanged' }),
  },
  // Other fields are ignored, not refused: the seed's clients may send more than we read.
  { additionalProperties: true },
)

export type EchoMessage = Static<typeof EchoMessage>

export const echoMessage = Compile(EchoMessage)
