/*
|--------------------------------------------------------------------------
| `npm run bench`
|--------------------------------------------------------------------------
|
| Measures the targets of PERFORMANCE.md (P1–P8) in one run:
|   1. a fresh PostgreSQL (embedded under tmp/bench-postgres, or scratch
|      databases on the server in DATABASE_URL), two databases migrated by
|      `ace migration:run` and seeded set-based: 10,000 and 1,000,000
|      tokens, users to match, 1,000 real tokens in each;
|   2. two servers (compiled as `npm start` runs them, NODE_ENV=production,
|      through bench/server_entry.ts for the benchmark routes), one per database;
|   3. a warm-up, then every scenario once per round, ROUNDS rounds,
|      interleaved, with autocannon (no pipelining; 32 connections for
|      throughput, 1 for latency); signed-in runs pick a pooled token at
|      random for every request, after a priming pass (see `prime`);
|   4. one table of medians — req/s, p50, p99, database round trips per
|      request and server CPU per request (both counted by the server),
|      PostgreSQL CPU per request, server RSS — and each target's ratio
|      (the median of the per-round ratios) next to the target.
|
| BENCH_SECONDS (5), BENCH_ROUNDS (3), BENCH_ONLY (scenario ids, comma
| separated), BENCH_LARGE_ROWS (1000000), BENCH_PROFILE=1 (--cpu-prof on
| the 10k server, profiles in tmp/bench-profile) and
| BENCH_SERVER_NODE_OPTIONS (NODE_OPTIONS for the servers only) tune a
| run. The servers inherit the environment, so settings (HASH_CONCURRENCY,
| DB_POOL_MAX, …) can be tried the same way.
|
*/

import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { availableParallelism, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Request } from 'autocannon'
import {
  BENCH_PASSWORD,
  migrate,
  openCluster,
  passwordHash,
  seed,
  type Cluster,
  type Seeded,
} from './database.ts'
import { load, median, type LoadOptions, type Sample } from './load.ts'
import { ensureBuild } from '../bin/server_process.ts'
import {
  postgresCpu,
  startServer,
  type QueryStats,
  type Server,
  type ServerStats,
} from './server.ts'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const WARMUP_SECONDS = 2
const SMALL_ROWS = 10_000
const LARGE_ROWS = Number(process.env.BENCH_LARGE_ROWS ?? 1_000_000)
const POOL = 1000
const THROUGHPUT = 32
const SIGNIN_CONNECTIONS_IN_MIX = 8
const ONLY = process.env.BENCH_ONLY?.split(',').map((id) => id.trim())

const appRoot = fileURLToPath(new URL('../', import.meta.url))
const startedAt = Date.now()

function say(message: string) {
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(0).padStart(3)
  process.stderr.write(`[bench ${seconds}s] ${message}\n`)
}

/**
 * The kernel's transparent-huge-page mode (`always`, `madvise`, `never`),
 * or `unknown` where /sys does not say. It moves P8: under `always`,
 * anonymous memory becomes resident 2 MiB at a time.
 */
function hugePageSetting() {
  try {
    const text = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8')
    return /\[(\w+)\]/.exec(text)?.[1] ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

/*
|--------------------------------------------------------------------------
| Set-up
|--------------------------------------------------------------------------
*/

const stops: Array<() => Promise<void>> = []
async function tearDown() {
  while (stops.length > 0) {
    await stops.pop()!().catch((error) => say(`clean-up: ${error}`))
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void tearDown().finally(() => process.exit(130))
  })
}

say('starting PostgreSQL')
const cluster: Cluster = await openCluster(appRoot)
stops.push(() => cluster.stop())

const databases = { small: 'tessera_bench_10k', large: 'tessera_bench_1m' }
await cluster.create(databases.small)
await cluster.create(databases.large)

const baseEnv: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_ENV: 'production',
  APP_KEY: randomBytes(32).toString('base64url'),
  LOG_LEVEL: 'warn',
  // ace needs them to boot even without a .env (a fresh clone); the
  // servers get their own port
  HOST: '127.0.0.1',
  PORT: '0',
  MAIL_DIR: join(appRoot, 'tmp/bench-mail'),
  SIGNIN_IP_LIMIT: '100000',
  SIGNIN_EMAIL_LIMIT: '100000',
  SIGNIN_IP_EMAIL_LIMIT: '100000',
}
if (process.env.BENCH_SERVER_NODE_OPTIONS)
  baseEnv.NODE_OPTIONS = process.env.BENCH_SERVER_NODE_OPTIONS
const envFor = (database: string) => ({ ...baseEnv, DATABASE_URL: cluster.urlOf(database) })

say('migrating')
await Promise.all([
  migrate(appRoot, envFor(databases.small)),
  migrate(appRoot, envFor(databases.large)),
])

await ensureBuild(appRoot, say)
say('starting the servers (compiled, production mode, with the benchmark routes)')
const profile = process.env.BENCH_PROFILE
  ? ['--cpu-prof', `--cpu-prof-dir=${join(appRoot, 'tmp/bench-profile')}`]
  : []
const small = await startServer({
  name: '10k',
  appRoot,
  env: envFor(databases.small),
  nodeArgs: profile,
})
stops.push(() => small.stop())
const large = await startServer({ name: '1M', appRoot, env: envFor(databases.large) })
stops.push(() => large.stop())

const { hashing } = await small.stats()
say(
  `seeding ${SMALL_ROWS.toLocaleString('en')} and ${LARGE_ROWS.toLocaleString('en')} tokens ` +
    `(argon2id m=${hashing.memoryKib} KiB, t=${hashing.iterations}, p=${hashing.parallelism})`
)
const hash = await passwordHash(hashing)
const smallData = await seed(cluster.urlOf(databases.small), SMALL_ROWS, POOL, hash)
say('seeded the 10k database')
const largeData = await seed(cluster.urlOf(databases.large), LARGE_ROWS, POOL, hash)
say('seeded the 1M database')

/*
|--------------------------------------------------------------------------
| Scenarios
|--------------------------------------------------------------------------
*/

const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]
const bearer = (value: string) => ({ authorization: `Bearer ${value}` })

function meRequest(server: Server, data: Seeded, connections: number): LoadOptions {
  return {
    url: server.url,
    connections,
    seconds: SECONDS,
    expect: 200,
    path: '/api/v1/me',
    vary: (request: Request) => {
      request.headers = { ...request.headers, ...bearer(pick(data.tokens).value) }
      return request
    },
  }
}

function signinRequest(connections: number): LoadOptions {
  return {
    url: small.url,
    connections,
    seconds: SECONDS,
    expect: 200,
    method: 'POST',
    path: '/api/v1/auth/signin',
    headers: { 'content-type': 'application/json' },
    vary: (request: Request) => {
      request.body = JSON.stringify({
        email: pick(smallData.signinEmails),
        password: BENCH_PASSWORD,
      })
      return request
    },
  }
}

function badTokenRequest(value: string): LoadOptions {
  return {
    url: small.url,
    connections: THROUGHPUT,
    seconds: SECONDS,
    expect: 401,
    path: '/api/v1/me',
    headers: bearer(value),
  }
}

type Measured = Sample & { queries: QueryStats | null; cpu: number; pgCpu: number; rss: number }

type Scenario = {
  id: string
  label: string
  connections: number | string
  server: Server
  /** Pooled tokens to use once before the run (see `prime`). */
  prime?: Seeded
  /** Returns one Measured per row it fills (the mixed run fills two). */
  run(seconds: number): Promise<Record<string, Measured>>
}

/**
 * Counts over a run. The server counts requests too (exact, unlike the
 * client, which drops those in flight when a run stops; the stats requests
 * are left out).
 */
function diff(after: ServerStats, before: ServerStats): QueryStats {
  const result = { ...after.queries }
  for (const key of Object.keys(result) as Array<keyof QueryStats>) {
    result[key] = after.queries[key] - before.queries[key]
  }
  return result
}

/**
 * Server CPU time (user + system) over a run, in microseconds.
 */
function cpuOf(after: ServerStats, before: ServerStats) {
  return after.cpu.user + after.cpu.system - before.cpu.user - before.cpu.system
}

/**
 * Runs `work` and returns its sample with the server's query counts over
 * the run and its RSS after it.
 */
async function measured(server: Server, work: () => Promise<Sample>): Promise<Measured> {
  const before = await server.stats()
  const pgBefore = postgresCpu(cluster.postmaster)
  const sample = await work()
  await server.settle()
  const after = await server.stats()
  return {
    ...sample,
    queries: diff(after, before),
    cpu: cpuOf(after, before),
    pgCpu: postgresCpu(cluster.postmaster) - pgBefore,
    rss: server.rss(),
  }
}

function single(id: string, server: Server, options: () => LoadOptions) {
  return async (seconds: number) => ({
    [id]: await measured(server, () => load({ ...options(), seconds })),
  })
}

/**
 * Uses every pooled token once, then waits for the server to go quiet.
 * A round lasts longer than LAST_USED_INTERVAL, so without this each
 * signed-in run would begin with all 1,000 tokens due for their coalesced
 * `last_used_at` write — 1,000 writes in 5 s, where a service under steady
 * load makes at most one per token per interval. After priming, a run
 * only writes for tokens whose interval ends during it (the "async"
 * figure in the table); P3 counts every write, priming included.
 */
async function prime(server: Server, data: Seeded) {
  const queue = [...data.tokens]
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let token = queue.pop(); token; token = queue.pop()) {
        const response = await fetch(`${server.url}/api/v1/me`, { headers: bearer(token.value) })
        await response.arrayBuffer()
      }
    })
  )
  await server.settle()
}

function rawArgon2(seconds: number) {
  return new Promise<Record<string, Measured>>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import=@poppinss/ts-exec',
        'bench/argon2_verify.ts',
        JSON.stringify({ ...hashing, seconds }),
      ],
      { cwd: appRoot, stdio: ['ignore', 'pipe', 'inherit'] }
    )
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.on('error', reject)
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`argon2_verify exited with ${code}`))
      const result = JSON.parse(output) as { verified: number; seconds: number; perSecond: number }
      resolve({
        argon2: {
          requests: result.verified,
          seconds: result.seconds,
          rps: result.perSecond,
          p50: Number.NaN,
          p99: Number.NaN,
          unexpected: 0,
          queries: null,
          cpu: Number.NaN,
          pgCpu: Number.NaN,
          rss: Number.NaN,
        },
      })
    })
  })
}

const allScenarios: Scenario[] = [
  {
    id: 'live',
    label: 'GET /health/live',
    connections: THROUGHPUT,
    server: small,
    run: single('live', small, () => ({
      url: small.url,
      connections: THROUGHPUT,
      seconds: SECONDS,
      expect: 200,
      path: '/health/live',
    })),
  },
  {
    id: 'malformed',
    label: '/me, malformed token',
    connections: THROUGHPUT,
    server: small,
    run: single('malformed', small, () => badTokenRequest(smallData.malformed)),
  },
  {
    id: 'badChecksum',
    label: '/me, bad checksum',
    connections: THROUGHPUT,
    server: small,
    run: single('badChecksum', small, () => badTokenRequest(smallData.badChecksum)),
  },
  {
    id: 'wrongType',
    label: '/me, wrong type (evt_ token)',
    connections: THROUGHPUT,
    server: small,
    run: single('wrongType', small, () => badTokenRequest(smallData.wrongType)),
  },
  {
    id: 'baseline',
    label: 'baseline: one PK SELECT, /me JSON',
    connections: THROUGHPUT,
    server: small,
    run: single('baseline', small, () => ({
      url: small.url,
      connections: THROUGHPUT,
      seconds: SECONDS,
      expect: 200,
      path: '/_bench/users/1',
      vary: (request: Request) => {
        const token = pick(smallData.tokens)
        request.path = `/_bench/users/${token.userId}`
        request.headers = { ...request.headers, ...bearer(token.value) }
        return request
      },
    })),
  },
  {
    id: 'me',
    label: 'GET /api/v1/me',
    connections: THROUGHPUT,
    server: small,
    prime: smallData,
    run: single('me', small, () => meRequest(small, smallData, THROUGHPUT)),
  },
  {
    id: 'mixed',
    label: '/me while sign-ins saturate the hasher',
    connections: `${THROUGHPUT} + ${SIGNIN_CONNECTIONS_IN_MIX}`,
    server: small,
    prime: smallData,
    async run(seconds: number) {
      const before = await small.stats()
      const pgBefore = postgresCpu(cluster.postmaster)
      const [me, signin] = await Promise.all([
        load({ ...meRequest(small, smallData, THROUGHPUT), seconds }),
        load({ ...signinRequest(SIGNIN_CONNECTIONS_IN_MIX), seconds }),
      ])
      await small.settle()
      const after = await small.stats()
      const queries = diff(after, before)
      const cpu = cpuOf(after, before)
      const pgCpu = postgresCpu(cluster.postmaster) - pgBefore
      const rss = small.rss()
      return {
        mixedMe: { ...me, queries: null, cpu: Number.NaN, pgCpu: Number.NaN, rss },
        mixedSignin: { ...signin, queries, cpu, pgCpu, rss },
      }
    },
  },
  {
    id: 'direct',
    label: '/me minus guard: TokenModule.authenticate',
    connections: THROUGHPUT,
    server: small,
    prime: smallData,
    run: single('direct', small, () => ({
      ...meRequest(small, smallData, THROUGHPUT),
      path: '/_bench/direct/me',
    })),
  },
  {
    id: 'stock',
    label: '/me via stock DbAccessTokensProvider',
    connections: THROUGHPUT,
    server: small,
    run: single('stock', small, () => ({
      ...meRequest(small, smallData, THROUGHPUT),
      path: '/_bench/stock/me',
    })),
  },
  {
    id: 'signin',
    label: 'POST /api/v1/auth/signin',
    connections: THROUGHPUT,
    server: small,
    run: single('signin', small, () => signinRequest(THROUGHPUT)),
  },
  {
    id: 'argon2',
    label: 'raw argon2.verify (bench/argon2_verify.ts)',
    connections: hashing.concurrency,
    server: small,
    run: rawArgon2,
  },
  {
    id: 'me1m',
    label: 'GET /api/v1/me, 1M tokens',
    connections: THROUGHPUT,
    server: large,
    prime: largeData,
    run: single('me1m', large, () => meRequest(large, largeData, THROUGHPUT)),
  },
  {
    id: 'latency1m',
    label: '/me latency, 1M tokens',
    connections: 1,
    server: large,
    prime: largeData,
    run: single('latency1m', large, () => meRequest(large, largeData, 1)),
  },
  {
    id: 'latency10k',
    label: '/me latency, 10k tokens',
    connections: 1,
    server: small,
    prime: smallData,
    run: single('latency10k', small, () => meRequest(small, smallData, 1)),
  },
]
const scenarios = allScenarios.filter((scenario) => !ONLY || ONLY.includes(scenario.id))

/*
|--------------------------------------------------------------------------
| Sanity: every route answers what the scenarios expect
|--------------------------------------------------------------------------
*/

async function call(server: Server, path: string, init: RequestInit = {}) {
  const response = await fetch(`${server.url}${path}`, init)
  return { status: response.status, body: await response.text() }
}

async function sanityCheck(server: Server, data: Seeded) {
  const token = data.tokens[0]
  const headers = bearer(token.value)
  const me = await call(server, '/api/v1/me', { headers })
  const baseline = await call(server, `/_bench/users/${token.userId}`, { headers })
  const stock = await call(server, '/_bench/stock/me', { headers })
  const direct = await call(server, '/_bench/direct/me', { headers })
  if (
    me.status !== 200 ||
    me.body !== baseline.body ||
    me.body !== stock.body ||
    me.body !== direct.body
  ) {
    throw new Error(
      `/me, the baseline and the stock route disagree on ${server.name}:\n` +
        `${me.status} ${me.body}\n${baseline.status} ${baseline.body}\n${stock.status} ${stock.body}`
    )
  }
  for (const value of [data.malformed, data.badChecksum, data.wrongType]) {
    const refused = await call(server, '/api/v1/me', { headers: bearer(value) })
    if (refused.status !== 401) throw new Error(`a bad token got ${refused.status}`)
  }
  if (server === small) {
    const signin = await call(server, '/api/v1/auth/signin', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: data.signinEmails[0], password: BENCH_PASSWORD }),
    })
    if (signin.status !== 200) throw new Error(`sign-in answered ${signin.status}: ${signin.body}`)
  }
}

await sanityCheck(small, smallData)
await sanityCheck(large, largeData)

/*
|--------------------------------------------------------------------------
| Runs: a warm-up, then ROUNDS interleaved rounds
|--------------------------------------------------------------------------
*/

const results: Record<string, Measured[]> = {}

say(`warm-up, ${WARMUP_SECONDS}s per scenario`)
for (const scenario of scenarios) {
  if (scenario.prime) await prime(scenario.server, scenario.prime)
  if (scenario.id !== 'argon2') await scenario.run(WARMUP_SECONDS)
  await scenario.server.settle()
}

for (let round = 1; round <= ROUNDS; round++) {
  for (const scenario of scenarios) {
    say(`round ${round}/${ROUNDS}: ${scenario.label}`)
    if (scenario.prime) await prime(scenario.server, scenario.prime)
    const rows = await scenario.run(SECONDS)
    for (const [id, row] of Object.entries(rows)) (results[id] ??= []).push(row)
    await scenario.server.settle()
  }
}

const finalStats = await small.stats()
const rss = { small: small.rss(), large: large.rss() }
const smallMemory = small.memoryMap()

/*
|--------------------------------------------------------------------------
| Report
|--------------------------------------------------------------------------
*/

const rowsOf = (id: string) => results[id] ?? []
const med = (id: string, value: (row: Measured) => number) => median(rowsOf(id).map(value))

/**
 * The median over rounds of a per-round ratio.
 */
function ratio(numerator: string, denominator: string, pickValue: (row: Measured) => number) {
  const top = rowsOf(numerator)
  const bottom = rowsOf(denominator)
  return median(
    top.map((row, index) =>
      bottom[index] ? pickValue(row) / pickValue(bottom[index]) : Number.NaN
    )
  )
}

const ms = (value: number) =>
  Number.isFinite(value) ? (value < 10 ? value.toFixed(3) : value.toFixed(1)) : '—'
const mb = (bytes: number) => (Number.isFinite(bytes) ? (bytes / 2 ** 20).toFixed(0) : '—')

function tripsPerRequest(id: string) {
  const rows = rowsOf(id).filter((row) => row.queries)
  if (rows.length === 0) return '—'
  const sync = median(
    rows.map((row) => (row.queries!.total - row.queries!.touches) / row.queries!.requests)
  )
  const touches = median(rows.map((row) => row.queries!.touches / row.queries!.requests))
  return touches > 0 ? `${sync.toFixed(2)} + ${touches.toFixed(3)} async` : sync.toFixed(2)
}

/**
 * Server CPU (user + system) per request the server received.
 */
function cpuPerRequest(id: string, of: 'cpu' | 'pgCpu') {
  const value = median(
    rowsOf(id)
      .filter((row) => row.queries)
      .map((row) => row[of] / row.queries!.requests)
  )
  return Number.isFinite(value) ? value.toFixed(0) : '—'
}

const labels: Record<string, [string, number | string]> = {}
for (const scenario of scenarios) labels[scenario.id] = [scenario.label, scenario.connections]
labels.mixedMe = ['/me while sign-ins saturate the hasher', THROUGHPUT]
labels.mixedSignin = ['sign-ins during that /me load', SIGNIN_CONNECTIONS_IN_MIX]

const table: string[][] = [
  [
    'scenario',
    'conns',
    'req/s',
    'p50 ms',
    'p99 ms',
    'db trips/req',
    'CPU µs/req',
    'PG µs/req',
    'RSS MB',
    'bad',
  ],
]
for (const id of Object.keys(results)) {
  const [label, connections] = labels[id] ?? [id, '']
  table.push([
    label,
    String(connections),
    med(id, (row) => row.rps).toFixed(0),
    ms(med(id, (row) => row.p50)),
    ms(med(id, (row) => row.p99)),
    tripsPerRequest(id),
    cpuPerRequest(id, 'cpu'),
    cpuPerRequest(id, 'pgCpu'),
    mb(med(id, (row) => row.rss)),
    String(rowsOf(id).reduce((sum, row) => sum + row.unexpected, 0)),
  ])
}

/*
| Targets
*/
const meRows = rowsOf('me').filter((row) => row.queries)
const meSync = median(
  meRows.map((row) => (row.queries!.total - row.queries!.touches) / row.queries!.requests)
)
const meWrites = meRows.reduce((sum, row) => sum + row.queries!.writes, 0)
const badIds = ['malformed', 'badChecksum', 'wrongType']
const badQueries = badIds.reduce(
  (sum, id) => sum + rowsOf(id).reduce((total, row) => total + (row.queries?.total ?? 0), 0),
  0
)
const badRatios = badIds.map((id) => ratio(id, 'live', (row) => row.rps))
const p4 = Math.min(...badRatios)
const rps = (row: Measured) => row.rps

type Target = { id: string; measure: string; value: string; target: string; met: boolean | null }
const known = (value: number) => Number.isFinite(value)
const targets: Target[] = [
  {
    id: 'P1',
    measure: '/me req/s ÷ one-query baseline',
    value: ratio('me', 'baseline', rps).toFixed(2),
    target: '≥ 0.75',
    met: known(ratio('me', 'baseline', rps)) ? ratio('me', 'baseline', rps) >= 0.75 : null,
  },
  {
    id: 'P2',
    measure: '/me req/s ÷ stock provider',
    value: ratio('me', 'stock', rps).toFixed(2),
    target: '≥ 2.0',
    met: known(ratio('me', 'stock', rps)) ? ratio('me', 'stock', rps) >= 2 : null,
  },
  {
    id: 'P3',
    measure: 'db round trips per /me',
    value:
      `${meSync.toFixed(2)} sync, ${meWrites} sync writes; last_used_at: ` +
      `${finalStats.queries.touches} writes for ${finalStats.queries.touchedTokens} tokens, ` +
      `${finalStats.queries.touchRepeats} within ${finalStats.lastUsedInterval}s`,
    target: `≤ 1, no sync write, ≤ 1 write/token/${finalStats.lastUsedInterval}s`,
    met: known(meSync)
      ? Number(meSync.toFixed(2)) <= 1 && meWrites === 0 && finalStats.queries.touchRepeats === 0
      : null,
  },
  {
    id: 'P4',
    measure: 'bad tokens req/s ÷ /health/live; queries',
    value:
      `${p4.toFixed(2)} (malformed ${badRatios[0].toFixed(2)}, checksum ` +
      `${badRatios[1].toFixed(2)}, type ${badRatios[2].toFixed(2)}); ${badQueries} queries`,
    target: '≥ 0.8; 0 queries',
    met: known(p4) ? p4 >= 0.8 && badQueries === 0 : null,
  },
  {
    id: 'P5',
    measure: 'sign-ins/s ÷ raw argon2.verify/s',
    value: ratio('signin', 'argon2', rps).toFixed(2),
    target: '≥ 0.9',
    met: known(ratio('signin', 'argon2', rps)) ? ratio('signin', 'argon2', rps) >= 0.9 : null,
  },
  {
    id: 'P6',
    measure: '/me req/s during sign-ins ÷ /me alone',
    value: ratio('mixedMe', 'me', rps).toFixed(2),
    target: '≥ 0.5',
    met: known(ratio('mixedMe', 'me', rps)) ? ratio('mixedMe', 'me', rps) >= 0.5 : null,
  },
  {
    id: 'P7',
    measure: '/me p50, 1M tokens ÷ 10k tokens',
    value: ratio('latency1m', 'latency10k', (row) => row.p50).toFixed(2),
    target: '≤ 1.2',
    met: known(ratio('latency1m', 'latency10k', (row) => row.p50))
      ? ratio('latency1m', 'latency10k', (row) => row.p50) <= 1.2
      : null,
  },
  {
    id: 'P8',
    measure: 'server RSS after the benchmark',
    value: `${mb(rss.small)} MB (1M-row server: ${mb(rss.large)} MB)`,
    target: '≤ 300 MB',
    met: rss.small <= 300 * 2 ** 20,
  },
]

function markdown(rows: string[][]) {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)))
  const line = (row: string[]) =>
    `| ${row.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`
  return [
    line(rows[0]),
    `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`,
    ...rows.slice(1).map(line),
  ].join('\n')
}

await tearDown()

/**
 * Every round's figures, for a closer look than the medians allow.
 */
await writeFile(
  join(appRoot, 'tmp/bench-results.json'),
  `${JSON.stringify({ results, targets, finalStats, rss, smallMemory }, null, 2)}\n`
)

const cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '?'
const elapsed = (Date.now() - startedAt) / 1000
process.stdout.write(
  [
    '',
    `Tessera benchmark — ${new Date().toISOString()}`,
    `machine: ${availableParallelism()} CPUs (${cpu}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB; ` +
      `Node ${process.version}; PostgreSQL ${cluster.version}; transparent huge pages: ${hugePageSetting()}`,
    `runs: ${ROUNDS} rounds × ${SECONDS}s per scenario, interleaved, after a ${WARMUP_SECONDS}s warm-up; ` +
      `medians; argon2id m=${hashing.memoryKib} KiB t=${hashing.iterations} p=${hashing.parallelism}, ` +
      `hasher concurrency ${hashing.concurrency}`,
    `tokens: ${smallData.rows.toLocaleString('en')} (${smallData.users.toLocaleString('en')} users) ` +
      `and ${largeData.rows.toLocaleString('en')} (${largeData.users.toLocaleString('en')} users), ` +
      `${POOL} real tokens each`,
    '',
    markdown(table),
    '',
    markdown([
      ['id', 'measure', 'value', 'target', 'met'],
      ...targets.map((target) => [
        target.id,
        target.measure,
        target.value,
        target.target,
        target.met === null ? 'n/a' : target.met ? 'met' : 'NOT MET',
      ]),
    ]),
    '',
    `10k server's memory after the run: ${mb(rss.small)} MB resident — V8 heap ${mb(finalStats.memory.heapTotal)} MB ` +
      `(${mb(finalStats.memory.heapUsed)} MB used) within ${mb(smallMemory.anonymous)} MB of anonymous mappings, ` +
      `glibc heap ${mb(smallMemory.heap)} MB, node binary ${mb(smallMemory.node)} MB, other ${mb(smallMemory.other)} MB; ` +
      `${mb(smallMemory.hugePages)} MB of it in transparent huge pages`,
    `ratios: median over rounds of each round's ratio; "bad": responses with an unexpected status, errors and timeouts`,
    `every round's figures: tmp/bench-results.json`,
    `npm run bench took ${Math.floor(elapsed / 60)}m ${Math.round(elapsed % 60)}s`,
    '',
  ].join('\n')
)
process.exit(0)
