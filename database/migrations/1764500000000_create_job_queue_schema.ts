import { BaseSchema } from '@adonisjs/lucid/schema'
import { getConstructionPlans } from 'pg-boss'

/**
 * The job queue's tables (pg-boss, schema `pgboss`): links and mail wait
 * there, not in process memory (SECURITY.md F6). Installed with the other
 * migrations — once, serialised under pg-boss's own advisory lock — so a
 * server never starts by building them, and `migration:rollback` (the test
 * runner's clean-up) removes them. pg-boss upgrades its schema itself at
 * start when a newer version is installed.
 *
 * pg-boss's plan opens and commits its own transaction, so this migration
 * runs outside Lucid's.
 */
export default class extends BaseSchema {
  static disableTransactions = true

  async up() {
    this.defer(async (db) => {
      const { rows } = await db.rawQuery(`select to_regclass('pgboss.version') as installed`)
      if (rows[0].installed) return
      await db.rawQuery(getConstructionPlans('pgboss'))
    })
  }

  async down() {
    this.defer(async (db) => {
      await db.rawQuery('drop schema if exists pgboss cascade')
    })
  }
}
