/** HTTP schemas of devices (Client and Application API) and of telemetry ingestion/history. */
import Type from 'typebox'

/** Metric names: short, URL- and JSON-friendly. */
export const METRIC_PATTERN = '^[A-Za-z0-9_.:-]{1,64}$'
export const MAX_METRICS_PER_READING = 64

const Units = Type.Record(Type.String({ pattern: METRIC_PATTERN }), Type.String({ maxLength: 32 }), {
  maxProperties: MAX_METRICS_PER_READING,
  additionalProperties: false,
  description: 'metric name → unit, used when a reading carries no unit',
})
const Metadata = Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 50, description: 'free-form JSON object' })

export const DeviceAttributes = Type.Object({
  id: Type.Integer(),
  owner_id: Type.Integer(),
  name: Type.String(),
  type: Type.String(),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  units: Type.Record(Type.String(), Type.String(), { description: 'learned from posted readings, overridden by the units the owner set' }),
  metrics: Type.Array(
    Type.Object({ name: Type.String(), unit: Type.Union([Type.String(), Type.Null()]), first_seen_at: Type.String({ format: 'date-time' }), last_seen_at: Type.String({ format: 'date-time' }) }),
    { description: 'the metrics this device has posted (last_seen_at refreshed about once a minute)' },
  ),
  telemetry_retention_days: Type.Union([Type.Integer(), Type.Null()], { description: 'days its telemetry is kept; null: TELEMETRY_RETENTION' }),
  status: Type.String(),
  status_reason: Type.Union([Type.String(), Type.Null()]),
  last_seen_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  key_identifier: Type.String({ description: 'public part of the device key' }),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
})

export const CreateDeviceBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 191 }),
    type: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    metadata: Type.Optional(Metadata),
    units: Type.Optional(Units),
    telemetry_retention_days: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 36_500 }), Type.Null()], { description: 'days this device’s telemetry is kept (0: forever); null: TELEMETRY_RETENTION' })),
  },
  { additionalProperties: false },
)

export const UpdateDeviceBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 191 })),
    type: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    metadata: Type.Optional(Metadata),
    units: Type.Optional(Units),
    telemetry_retention_days: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 36_500 }), Type.Null()], { description: 'days this device’s telemetry is kept (0: forever); null: TELEMETRY_RETENTION' })),
    status: Type.Optional(
      Type.Union([Type.Literal('maintenance'), Type.Literal('warning'), Type.Literal('online'), Type.Literal('offline')], {
        description: "maintenance or warning (sticky until cleared); online or offline clears them (the device's liveness decides which)",
      }),
    ),
    status_reason: Type.Optional(Type.String({ maxLength: 191 })),
  },
  { additionalProperties: false },
)

export const CreatedDevice = Type.Object({
  object: Type.Literal('device'),
  attributes: DeviceAttributes,
  meta: Type.Object({ device_key: Type.String({ description: 'Bearer credential for ingestion; shown once' }) }),
})

export const DeviceParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) })

export const DeviceListQuery = Type.Object({
  page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
  per_page: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  owner_id: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'Application API only: devices of this user' })),
})

// ------------------------------------------------------------------ telemetry

export const Sample = Type.Object(
  {
    value: Type.Number({ description: 'finite number, at most 1e300 in magnitude' }),
    unit: Type.Optional(Type.String({ maxLength: 32, description: 'no control characters' })),
    timestamp: Type.Optional(Type.String({ format: 'date-time', maxLength: 40, description: 'ISO 8601, 1970 to one day ahead; server time when absent' })),
  },
  { additionalProperties: false },
)

const SampleOrNumber = Type.Union([Sample, Type.Number({ description: 'shorthand for {"value": n}' })])

export const TelemetryMap = Type.Record(Type.String({ pattern: METRIC_PATTERN }), SampleOrNumber, {
  minProperties: 1,
  maxProperties: MAX_METRICS_PER_READING,
  additionalProperties: false,
})

/**
 * Documents the accepted forms; ingestion checks bodies itself (telemetry.normalize.ts), so the
 * 400 names the exact field whatever the form.
 */
export function ingestBodySchema(maxReadings: number) {
  return Type.Union(
    [
      Type.Object({ telemetry: TelemetryMap }, { additionalProperties: false, title: 'one reading', description: '{"telemetry":{"temperature":{"value":25,"unit":"C"}}} or {"telemetry":{"temperature":25}}' }),
      Type.Object(
        {
          readings: Type.Array(
            Type.Object(
              {
                telemetry: TelemetryMap,
                timestamp: Type.Optional(Type.String({ format: 'date-time', maxLength: 40, description: 'default for this reading’s metrics' })),
              },
              { additionalProperties: false },
            ),
            { minItems: 1, maxItems: maxReadings },
          ),
        },
        { additionalProperties: false, title: 'a batch' },
      ),
      Type.Record(Type.String({ pattern: METRIC_PATTERN }), SampleOrNumber, {
        minProperties: 1,
        maxProperties: MAX_METRICS_PER_READING,
        title: 'flat (ThingsBoard style)',
        description: '{"temperature":25,"humidity":40}: one reading; `telemetry` and `readings` are not metric names',
      }),
    ],
    { description: 'One reading (`telemetry`), a batch (`readings`), or flat metric → value pairs' },
  )
}

export const IngestReceipt = Type.Object({
  object: Type.Literal('telemetry_receipt'),
  attributes: Type.Object({
    device_id: Type.Integer(),
    readings: Type.Integer(),
    stored: Type.Integer({ description: 'metric values stored' }),
  }),
})

export const HistoryQuery = Type.Object({
  metric: Type.Optional(Type.String({ pattern: METRIC_PATTERN })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'inclusive' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'exclusive' })),
  limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
  interval: Type.Optional(
    Type.String({
      pattern: '^[0-9]{1,7}(s|m|h|d)?$',
      description: 'bucket size (e.g. 60s, 5m, 1h); returns min/max/avg/count/last per bucket and metric. Whole hours read the 1-hour rollup, whole minutes the 1-minute rollup (edge buckets whole), other sizes raw readings',
    }),
  ),
})

export const ReadingAttributes = Type.Object({
  metric: Type.String(),
  value: Type.Number(),
  unit: Type.Union([Type.String(), Type.Null()]),
  timestamp: Type.String({ format: 'date-time' }),
})

export const BucketAttributes = Type.Object({
  metric: Type.String(),
  bucket: Type.String({ format: 'date-time' }),
  min: Type.Number(),
  max: Type.Number(),
  avg: Type.Number(),
  count: Type.Integer(),
  last: Type.Number({ description: 'the latest value in the bucket' }),
})

export const LatestAttributes = Type.Object({
  metric: Type.String(),
  value: Type.Number(),
  unit: Type.Union([Type.String(), Type.Null()]),
  timestamp: Type.String({ format: 'date-time' }),
  offset: Type.Integer(),
})
