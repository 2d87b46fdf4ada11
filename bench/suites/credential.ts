/**
 * Credential endpoint suite: `GET /api/client/websocket` with a client key on wirehub, against
 * a bare Fastify route returning a constant, both driven by autocannon with the same settings.
 */
import autocannon from 'autocannon'
import { startTarget, stopTarget, type WirehubContext } from '../lib/targets.js'

export interface CannonRun {
  label: string
  reqPerSec: number
  p50Ms: number
  p99Ms: number
  non2xx: number
  errors: number
}

export interface CredentialResult {
  wirehub: CannonRun
  bare: CannonRun
  ratio: number
}

async function cannon(label: string, url: string, headers: Record<string, string>, seconds: number): Promise<CannonRun> {
  const r = await autocannon({ url, connections: 32, pipelining: 1, duration: seconds, headers })
  return { label, reqPerSec: Math.round(r.requests.average), p50Ms: r.latency.p50, p99Ms: r.latency.p99, non2xx: r.non2xx, errors: r.errors }
}

export async function runCredential(ctx: WirehubContext, opts: { quick: boolean; log: (s: string) => void }): Promise<CredentialResult> {
  const seconds = opts.quick ? 3 : 8
  const w = await startTarget('wirehub', ctx)
  let wirehub: CannonRun
  try {
    wirehub = await cannon('wirehub GET /api/client/websocket', `${w.httpUrl}/api/client/websocket`, { authorization: `Bearer ${ctx.clientKey}`, accept: 'application/json' }, seconds)
  } finally {
    await stopTarget(w)
  }
  const b = await startTarget('bare-fastify', null)
  let bare: CannonRun
  try {
    bare = await cannon('bare Fastify constant route', `${b.httpUrl}/api/client/websocket`, {}, seconds)
  } finally {
    await stopTarget(b)
  }
  const ratio = Math.round((wirehub.reqPerSec / Math.max(1, bare.reqPerSec)) * 100) / 100
  opts.log(`  credential: wirehub ${wirehub.reqPerSec} req/s (p99 ${wirehub.p99Ms} ms, non-2xx ${wirehub.non2xx}) vs bare ${bare.reqPerSec} req/s → ${ratio}×`)
  return { wirehub, bare, ratio }
}

export function credentialTable(r: CredentialResult): string {
  return [
    '\n**Credential endpoint** (autocannon, 32 connections)\n',
    '| route | req/s | p50 | p99 | non-2xx |',
    '|---|---|---|---|---|',
    ...[r.wirehub, r.bare].map((x) => `| ${x.label} | ${x.reqPerSec.toLocaleString('en-US')} | ${x.p50Ms} ms | ${x.p99Ms} ms | ${x.non2xx} |`),
    `\nRatio wirehub / bare Fastify: ${r.ratio}×`,
  ].join('\n')
}
