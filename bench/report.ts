/**
 * `tsx bench/report.ts bench/results/<file>.json [more.json …]`: re-prints the tables of saved
 * runs (several files are merged, e.g. one run per N), for the README.
 */
import { readFileSync } from 'node:fs'
import { fanoutTable, summarizeFanout } from './lib/report.js'
import type { SessionResult } from './suites/fanout.js'
import { ingestTable, type IngestResult } from './suites/ingest.js'
import { credentialTable, type CredentialResult } from './suites/credential.js'
import { clusterTable, type ClusterResult } from './suites/cluster.js'
import { scenarioTable, type ScenarioSession } from './suites/scenarios.js'
import { memoryTable, type MemorySession } from './suites/memory.js'

interface Saved {
  sessions: SessionResult[]
  ingest: IngestResult | null
  credential: CredentialResult | null
  cluster?: ClusterResult | null
  scenarios?: ScenarioSession[]
  memory?: MemorySession[]
}

const files = process.argv.slice(2)
if (files.length === 0) throw new Error('usage: report.ts <results.json> [...]')
const runs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Saved)
const sessions = runs.flatMap((r) => r.sessions)
const ingest = runs.map((r) => r.ingest).filter((x): x is IngestResult => !!x).at(-1)
const credential = runs.map((r) => r.credential).filter((x): x is CredentialResult => !!x).at(-1)
const clusterRuns = runs.map((r) => r.cluster).filter((x): x is ClusterResult => !!x)
const cluster = clusterRuns.length ? { ...clusterRuns[0]!, sessions: clusterRuns.flatMap((c) => c.sessions) } : null
const scenarios = runs.flatMap((r) => r.scenarios ?? [])
const memory = runs.flatMap((r) => r.memory ?? [])
process.stdout.write(`${fanoutTable(summarizeFanout(sessions))}\n${scenarios.length ? scenarioTable(scenarios) : ''}\n${memory.length ? memoryTable(memory) : ''}\n${ingest ? ingestTable(ingest) : ''}\n${credential ? credentialTable(credential) : ''}\n${cluster ? clusterTable(cluster) : ''}\n`)
