/** Command-line flags of `npm run bench` (`--key=value` or `--flag`). */
export interface BenchArgs {
  ns: number[]
  ds: number[]
  rounds: number
  targets: string[]
  suites: string[]
  workers: number
  quick: boolean
  windowMs: number
  out: string | undefined
  /** Cluster suite: instance counts (K=1 also runs without Redis) and the fixed delivery rate. */
  instances: number[]
  fixedRate: number | undefined
  /** Batch scenario: sockets, readings per publication, deliveries/s. */
  batchN: number
  batchSize: number
  batchRate: number
  /** Wide scenario: sockets (each following every device), deliveries/s. */
  wideN: number
  wideRate: number
  /** Memory suite: socket counts, opened in stages (RSS slope between the first and the last). */
  memoryN: number[]
  /** Flags given on the command line (a suite may pick other defaults for the rest). */
  given: string[]
}

export function parseArgs(argv: string[]): BenchArgs {
  const flags = new Map<string, string>()
  for (const a of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a)
    if (!m) throw new Error(`unknown argument ${a}`)
    flags.set(m[1]!, m[2] ?? 'true')
  }
  const list = (k: string, def: string) => (flags.get(k) ?? def).split(',').map((s) => s.trim()).filter(Boolean)
  const quick = flags.get('quick') === 'true'
  return {
    ns: list('n', quick ? '1000' : '1000,5000,10000').map(Number),
    ds: list('d', '10,1').map(Number),
    rounds: Number(flags.get('rounds') ?? (quick ? 1 : 3)),
    targets: list('targets', 'bare-ws,socketio,wirehub'),
    suites: list('suites', 'fanout,slow-reader,batch,wide,memory,ingest,credential'),
    workers: Number(flags.get('workers') ?? 2),
    quick,
    windowMs: Number(flags.get('window') ?? (quick ? 2000 : 3000)),
    out: flags.get('out'),
    instances: list('instances', '1,2,3').map(Number),
    fixedRate: flags.has('fixed-rate') ? Number(flags.get('fixed-rate')) : undefined,
    batchN: Number(flags.get('batch-n') ?? 500),
    batchSize: Number(flags.get('batch-size') ?? 100),
    batchRate: Number(flags.get('batch-rate') ?? 50_000),
    wideN: Number(flags.get('wide-n') ?? 50),
    wideRate: Number(flags.get('wide-rate') ?? 20_000),
    memoryN: list('memory-n', quick ? '500,2000' : '1000,10000').map(Number),
    given: [...flags.keys()],
  }
}
