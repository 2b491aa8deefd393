import { BaseCommand, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'

/**
 * A session-level advisory lock that only migrations take. Lucid's own
 * migration lock is a *try* lock taken and released on whichever pooled
 * connection comes first: with two instances starting at once the loser
 * either fails (E_UNABLE_ACQUIRE_LOCK) or "releases" a lock it never held
 * on another connection and exits 1. This one is taken on one connection
 * held for the whole run and *waited for*, so instances queue.
 */
const MIGRATION_LOCK = `hashtext('tessera:migrations')`

/**
 * Runs pending migrations, one process at a time (SECURITY.md F7): the
 * release step of a deploy (`npm run migrate`, `node ace.js migrate` in the
 * image), and what `npm start` runs before serving. A second process
 * started meanwhile waits for the first (at most `--wait` seconds), then
 * finds nothing pending and goes on. (`node ace migration:run` stays the
 * developer's command: it also regenerates database/schema.ts.)
 *
 * Exit code 1 when a migration fails or the wait runs out.
 */
export default class Migrate extends BaseCommand {
  static commandName = 'migrate'
  static description = 'Run pending migrations, waiting for one running elsewhere'
  static options: CommandOptions = { startApp: true }

  @flags.number({ description: 'Seconds to wait for another process migrating', default: 300 })
  declare wait: number

  async run() {
    const { MigrationRunner } = await import('@adonisjs/lucid/migration')
    const db = await this.app.container.make('lucid.db')
    const client = db.connection().getWriteClient().client
    const connection = await client.acquireConnection()
    try {
      await connection.query(`set lock_timeout = ${Math.max(1, Math.round(this.wait)) * 1000}`)
      await connection.query(`select pg_advisory_lock(${MIGRATION_LOCK})`)
      await connection.query('set lock_timeout = 0')
      const runner = new MigrationRunner(db, this.app, { direction: 'up', disableLocks: true })
      await runner.run()
      if (runner.status === 'error') {
        this.logger.error(`Migration failed: ${runner.error?.message ?? 'unknown error'}`)
        this.exitCode = 1
        return
      }
      const ran = Object.keys(runner.migratedFiles).length
      this.logger.success(ran > 0 ? `Ran ${ran} migration(s)` : 'Already up to date')
    } catch (error) {
      const code = (error as { code?: string }).code
      this.logger.error(
        code === '55P03'
          ? `Another process kept migrating for more than ${this.wait} s; try again`
          : `Could not migrate: ${(error as Error).message}`
      )
      this.exitCode = 1
    } finally {
      await connection.query(`select pg_advisory_unlock(${MIGRATION_LOCK})`).catch(() => {})
      client.releaseConnection(connection)
    }
  }
}
