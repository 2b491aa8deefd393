import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { sleep } from '#tests/faults/helpers/processes'

/** Where Debian's `pgbouncer` package puts the binary. */
const BINARY = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((path) => existsSync(path))

/**
 * Debian's PgBouncer (1.18 on bookworm) in front of the suite's
 * PostgreSQL, on a free loopback port with an ini of its own: the stock
 * settings but for the pool mode, the server pool size and round-robin
 * reuse of server connections, with the server's user as an admin (the
 * admin console's `RELOAD`, `SHOW POOLS`). Started and stopped by the
 * test, like `RedisServer`.
 *
 * Clients authenticate with SCRAM against a plaintext `auth_file`, which
 * PgBouncer also uses to log in to PostgreSQL; the files live in a
 * private temp folder removed by `stop`. PgBouncer refuses to run as root:
 * as root (CI) it runs as the `postgres` OS user, as the embedded
 * PostgreSQL does.
 */
export default class PgBouncer {
  #child?: ChildProcess
  #exited?: Promise<void>
  #directory?: string
  output = ''

  /**
   * @param port where PgBouncer listens (127.0.0.1)
   * @param serverUrl the PostgreSQL it pools, `postgres://user:password@host:port/db`
   * @param mode PgBouncer's `pool_mode`
   * @param poolSize `default_pool_size`: server connections per user and database
   */
  constructor(
    readonly port: number,
    private serverUrl: string,
    readonly mode: 'session' | 'transaction',
    public poolSize = 3
  ) {}

  /** The pooled database, with the server's credentials. */
  get url() {
    const url = new URL(this.serverUrl)
    url.hostname = '127.0.0.1'
    url.port = String(this.port)
    return url.toString()
  }

  get pid() {
    return this.#child?.pid
  }

  /**
   * Writes the ini and auth file, starts `pgbouncer` in the foreground and
   * waits until it accepts connections.
   *
   * @throws Error when the binary is missing (`apt-get install pgbouncer`)
   *   or it does not listen within `timeoutMs`, with its output
   */
  async start(timeoutMs = 10_000) {
    if (!BINARY) throw new Error('pgbouncer is not installed: apt-get install -y pgbouncer')
    const server = new URL(this.serverUrl)
    const user = decodeURIComponent(server.username)
    const password = decodeURIComponent(server.password)
    const directory = await mkdtemp(join(tmpdir(), 'tessera-pgbouncer-'))
    this.#directory = directory
    const quote = (value: string) => `"${value.replaceAll('"', '""')}"`
    await writeFile(join(directory, 'users.txt'), `${quote(user)} ${quote(password)}\n`, {
      mode: 0o600,
    })
    await this.#writeIni()
    const args = [join(directory, 'pgbouncer.ini')]
    if (process.getuid?.() === 0) {
      const uid = Number(spawnSync('id', ['-u', 'postgres']).stdout.toString().trim())
      const gid = Number(spawnSync('id', ['-g', 'postgres']).stdout.toString().trim())
      for (const path of [
        directory,
        join(directory, 'users.txt'),
        join(directory, 'pgbouncer.ini'),
      ])
        await chown(path, uid, gid)
      args.unshift('-u', 'postgres')
    }
    const child = spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.#child = child
    this.#exited = new Promise((resolve) => child.on('exit', () => resolve()))
    child.stdout.on('data', (chunk) => (this.output += chunk))
    child.stderr.on('data', (chunk) => (this.output += chunk))
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (await this.#listening()) return
      if (child.exitCode !== null) break
      await sleep(50)
    }
    throw new Error(`pgbouncer did not start on ${this.port}\n${this.output}`)
  }

  /**
   * Sets `default_pool_size` as an operator would: edits the ini and sends
   * `RELOAD` on the admin console.
   */
  async resize(poolSize: number) {
    this.poolSize = poolSize
    await this.#writeIni()
    await this.admin('RELOAD')
  }

  /**
   * One command on PgBouncer's admin console (`SHOW POOLS`, `RELOAD`,
   * `KILL db`…), as the server's user, which the ini makes an admin.
   */
  async admin(command: string) {
    const url = new URL(this.url)
    url.pathname = '/pgbouncer'
    const client = new pg.Client({
      connectionString: url.toString(),
      connectionTimeoutMillis: 5000,
    })
    client.on('error', () => {})
    await client.connect()
    try {
      const result = await client.query(command)
      return result.rows as Record<string, unknown>[]
    } finally {
      await client.end().catch(() => {})
    }
  }

  /**
   * Stops PgBouncer (SIGTERM: immediate shutdown, SIGKILL after 5 s) and
   * deletes its folder.
   */
  async stop() {
    const child = this.#child
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await this.#exited
      clearTimeout(timer)
    }
    if (this.#directory) await rm(this.#directory, { recursive: true, force: true })
  }

  async #writeIni() {
    const server = new URL(this.serverUrl)
    const user = decodeURIComponent(server.username)
    const database = server.pathname.slice(1)
    const directory = this.#directory!
    await writeFile(
      join(directory, 'pgbouncer.ini'),
      [
        '[databases]',
        `${database} = host=${server.hostname} port=${server.port} dbname=${database}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${this.port}`,
        'unix_socket_dir =',
        'auth_type = scram-sha-256',
        `auth_file = ${join(directory, 'users.txt')}`,
        `admin_users = ${user}`,
        `pool_mode = ${this.mode}`,
        `default_pool_size = ${this.poolSize}`,
        // hand out server connections in turn instead of reusing the last
        // one, as a busy pooler does: consecutive statements of one idle
        // client land on different servers, deterministically
        'server_round_robin = 1',
        '',
      ].join('\n'),
      { mode: 0o600 }
    )
  }

  #listening() {
    return new Promise<boolean>((resolve) => {
      const socket = connect(this.port, '127.0.0.1')
      const done = (answer: boolean) => {
        socket.destroy()
        resolve(answer)
      }
      socket.setTimeout(1000, () => done(false))
      socket.on('error', () => done(false))
      socket.on('connect', () => done(true))
    })
  }
}
