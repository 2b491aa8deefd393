import { existsSync, readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import pg from 'pg'
import {
  removeStaleTestClusters,
  startEmbeddedPostgres,
  type EmbeddedDatabase,
} from '#database/embedded_postgres'
import { childrenOf, isRunning, signal, waitUntilGone } from '#tests/faults/helpers/processes'

const DATABASE = 'tessera_faults'

/**
 * A private embedded PostgreSQL that the fault tests may stop, kill, freeze
 * and restart at will. Durable settings (not the test runner's `fast`
 * ones): with `synchronous_commit=off` a SIGKILL loses commits that were
 * already acknowledged, which is PostgreSQL's documented trade-off, not a
 * fault of the service. Restarts keep the port, so the service under test
 * finds the server where its DATABASE_URL says. The suite's own connections
 * are named `tessera-faults`, never `tessera`, so they are neither counted
 * as the service's nor terminated with them.
 */
export default class FaultCluster {
  private constructor(
    private directory: string,
    private database: EmbeddedDatabase
  ) {}

  /**
   * A fresh cluster in `directory` (`<parent>/<pid>`, so a killed run's
   * leftovers are removed by the next one).
   */
  static async start(directory: string) {
    await removeStaleTestClusters(dirname(directory))
    const database = await startEmbeddedPostgres({
      directory,
      database: DATABASE,
      fresh: true,
    })
    return new FaultCluster(directory, database)
  }

  get url() {
    return this.database.url
  }

  get port() {
    return this.database.port
  }

  /**
   * The running postmaster's pid: line 1 of <data>/postmaster.pid.
   */
  postmasterPid() {
    const file = join(this.database.directory, 'data', 'postmaster.pid')
    if (!existsSync(file)) return null
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0])
    return Number.isInteger(pid) && pid > 0 && isRunning(pid) ? pid : null
  }

  /**
   * The postmaster and every process it forked (backends, checkpointer…).
   */
  processes() {
    const pid = this.postmasterPid()
    return pid ? [pid, ...childrenOf(pid)] : []
  }

  /**
   * `pg_ctl stop -m fast`: SIGINT to the postmaster, which ends every session
   * and shuts down cleanly.
   */
  async stopCleanly() {
    const pid = this.#requirePostmaster()
    process.kill(pid, 'SIGINT')
    const left = await waitUntilGone([pid], 20_000)
    if (left.length > 0) throw new Error(`PostgreSQL ${pid} did not stop on SIGINT`)
  }

  /**
   * A crash: SIGKILL to the postmaster and all its children at once.
   */
  async killHard() {
    const pids = this.processes()
    if (pids.length === 0) throw new Error('PostgreSQL is not running')
    signal(pids, 'SIGKILL')
    const left = await waitUntilGone(pids, 10_000)
    if (left.length > 0) throw new Error(`PostgreSQL processes survived SIGKILL: ${left.join(',')}`)
  }

  /**
   * A hung server: SIGSTOP to the postmaster (first, so it forks nothing
   * new) and then to every backend. Returns the frozen pids for `thaw`.
   */
  freeze() {
    const pid = this.#requirePostmaster()
    signal([pid], 'SIGSTOP')
    const frozen = [pid, ...childrenOf(pid)]
    signal(frozen, 'SIGSTOP')
    return frozen
  }

  thaw(pids: number[]) {
    signal([...pids].reverse(), 'SIGCONT')
  }

  /**
   * Starts the stopped (or crashed) cluster again on the same port.
   */
  async restart() {
    if (this.postmasterPid()) return
    this.database = await startEmbeddedPostgres({
      directory: this.directory,
      database: DATABASE,
      port: this.port,
    })
  }

  /**
   * One statement on a short-lived connection of the suite's own.
   */
  async query<Row = Record<string, any>>(sql: string, params: unknown[] = []) {
    const client = await this.connect()
    try {
      const result = await client.query(sql, params)
      return result.rows as Row[]
    } finally {
      await client.end().catch(() => {})
    }
  }

  async connect() {
    const client = new pg.Client({
      connectionString: this.url,
      application_name: 'tessera-faults',
      connectionTimeoutMillis: 5000,
    })
    client.on('error', () => {})
    await client.connect()
    return client
  }

  /**
   * Takes `lock table <table> in access exclusive mode` on a connection of
   * the suite's own and keeps it until the returned function commits.
   */
  async lockExclusive(table: string) {
    const client = await this.connect()
    await client.query('begin')
    await client.query(`lock table ${table} in access exclusive mode`)
    return async () => {
      await client.query('commit').catch(() => {})
      await client.end().catch(() => {})
    }
  }

  /**
   * Stops the server (whatever state it is in) and deletes its data.
   */
  async destroy() {
    const pids = this.processes()
    signal(pids, 'SIGCONT')
    if (pids.length > 0) {
      signal([pids[0]], 'SIGINT')
      const left = await waitUntilGone([pids[0]], 15_000)
      signal(left, 'SIGKILL')
      await waitUntilGone(this.processes(), 5000)
    }
    await rm(this.database.directory, { recursive: true, force: true })
    await rm(this.directory, { recursive: true, force: true })
  }

  #requirePostmaster() {
    const pid = this.postmasterPid()
    if (!pid) throw new Error('PostgreSQL is not running')
    return pid
  }
}
