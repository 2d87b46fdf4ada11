/** Instances for the external-broker tests: several apps on one database, MQTT on. */
import { build as buildApp, freshDatabase, type TapLike, type TestApp } from '../helper.js'

export const freshDatabaseUrl = (t: TapLike) => freshDatabase(t)

export function build(t: TapLike, env: Record<string, string>): Promise<TestApp> {
  return buildApp(t, { listen: true, env: { WS_CONNECTIONS_PER_MINUTE: '1000', RATE_LIMIT_MAX: '100000', MQTT_ENABLED: 'true', ...env } })
}
