import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { freePort } from '#database/embedded_postgres'
import { SERVER_NODE_ARGS, SERVER_SCRIPT, serverEnv } from '../bin/server_process.ts'

/**
 * The compiled bench/server_entry.ts, next to the compiled bin/server.ts
 * (`node ace build` compiles both): the app as `npm start` runs it, plus
 * the benchmark's routes and counters.
 */
const BENCH_SERVER_SCRIPT = SERVER_SCRIPT.replace(/bin\/server\.js$/, 'bench/server_entry.js')

export type QueryStats = {
  requests: number
  total: number
  reads: number
  writes: number
  touches: number
  touchRepeats: number
  touchedTokens: number
}

export type ServerStats = {
  queries: QueryStats
  hashOperations: number
  hashing: {
    memoryKib: number
    iterations: number
    parallelism: number
    concurrency: number
    queueLimit: number
  }
  lastUsedInterval: number
  memory: NodeJS.MemoryUsage
  cpu: NodeJS.CpuUsage
}

export type Server = {
  name: string
  url: string
  pid: number
  stats(): Promise<ServerStats>
  /** Waits until no query or hash has started for a few polls (queues drained). */
  settle(): Promise<void>
  /** Resident set size of the server process in bytes, from /proc. */
  rss(): number
  /** Resident bytes by kind of mapping, from /proc/<pid>/smaps (see `memoryMap`). */
  memoryMap(): Record<string, number>
  stop(): Promise<void>
}

/**
 * Starts the compiled server (BENCH_SERVER_SCRIPT: as `npm start` runs it; the
 * caller builds it first with `ensureBuild`) in production mode with the
 * benchmark routes on, and waits until it answers /health/live.
 */
export async function startServer(options: {
  name: string
  appRoot: string
  env: NodeJS.ProcessEnv
  nodeArgs?: string[]
}): Promise<Server> {
  const port = await freePort()
  const child = spawn(
    process.execPath,
    [...(options.nodeArgs ?? []), ...SERVER_NODE_ARGS, BENCH_SERVER_SCRIPT],
    {
      cwd: options.appRoot,
      env: serverEnv(options.appRoot, {
        ...options.env,
        HOST: '127.0.0.1',
        PORT: String(port),
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    }
  )
  let output = ''
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  // a benchmark that fails (a sanity check, a crash) must not leave its servers running
  const killOnExit = () => child.kill('SIGKILL')
  process.on('exit', killOnExit)
  const url = `http://127.0.0.1:${port}`

  const deadline = Date.now() + 60_000
  while (true) {
    if (child.exitCode !== null) {
      throw new Error(`server ${options.name} exited with ${child.exitCode}\n${output}`)
    }
    const live = await fetch(`${url}/health/live`).catch(() => null)
    if (live?.status === 200) break
    if (Date.now() > deadline) throw new Error(`server ${options.name} did not start\n${output}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }

  const server: Server = {
    name: options.name,
    url,
    pid: child.pid!,
    async stats() {
      const response = await fetch(`${url}/_bench/stats`)
      if (response.status !== 200) throw new Error(`stats answered ${response.status}`)
      return (await response.json()) as ServerStats
    },
    async settle() {
      let last = ''
      let still = 0
      const giveUpAt = Date.now() + 30_000
      while (still < 3 && Date.now() < giveUpAt) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        const stats = await server.stats()
        const now = `${stats.queries.total}/${stats.hashOperations}`
        still = now === last ? still + 1 : 0
        last = now
      }
    },
    rss() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
      const kib = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? Number.NaN)
      return kib * 1024
    },
    memoryMap() {
      return memoryMap(readFileSync(`/proc/${child.pid}/smaps`, 'utf8'))
    },
    async stop() {
      process.off('exit', killOnExit)
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    },
  }
  return server
}

/**
 * CPU time (user + system, microseconds) used so far by a PostgreSQL
 * server: its postmaster and every process it forked, live or reaped,
 * from /proc (clock
 * ticks of 10 ms: meaningful over a run of thousands of requests). NaN
 * when the server is not on this machine.
 */
export function postgresCpu(postmaster: number | null) {
  if (postmaster === null) return Number.NaN
  let ticks = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(entry) === postmaster) {
        /**
         * Its own time, and that of the backends it has reaped (a pool
         * connection closed during a run must not take its CPU with it).
         */
        ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])
      } else if (Number(fields[1]) === postmaster) {
        ticks += Number(fields[11]) + Number(fields[12])
      }
    } catch {}
  }
  return ticks * 10_000
}

/**
 * A process's resident memory by kind of mapping, in bytes, from the text
 * of /proc/<pid>/smaps: anonymous mappings (V8's heap and code, thread
 * stacks, other native allocations), glibc's main heap (`[heap]`: argon2's
 * blocks with MALLOC_ARENA_MAX=1, pg's buffers), the node binary's pages,
 * and the rest (shared libraries, native addons). `hugePages` is the part
 * of all of them backed by transparent huge pages (`AnonHugePages`): with
 * the kernel's THP set to `always`, a touched byte makes 2 MiB resident,
 * so the same server reads tens of MB larger on such a machine.
 */
export function memoryMap(smaps: string): Record<string, number> {
  const kinds: Record<string, number> = { anonymous: 0, heap: 0, node: 0, other: 0, hugePages: 0 }
  let kind = 'other'
  for (const line of smaps.split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line)
    if (mapping) {
      const name = mapping[1]
      kind =
        name === ''
          ? 'anonymous'
          : name === '[heap]'
            ? 'heap'
            : name.endsWith('/bin/node')
              ? 'node'
              : 'other'
      continue
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line)
    if (rss) kinds[kind] += Number(rss[1]) * 1024
    const huge = /^AnonHugePages:\s+(\d+) kB/.exec(line)
    if (huge) kinds.hugePages += Number(huge[1]) * 1024
  }
  return kinds
}
