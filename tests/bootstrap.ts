import { assert } from '@japa/assert'
import { apiClient } from '@japa/api-client'
import app from '@adonisjs/core/services/app'
import type { Config } from '@japa/runner/types'
import { pluginAdonisJS } from '@japa/plugin-adonisjs'
import testUtils from '@adonisjs/core/services/test_utils'
import { createHttpServer } from '#start/http_server'
import db from '@adonisjs/lucid/services/db'

/**
 * Japa plugins: assertions, an HTTP client, and the AdonisJS bridge.
 */
export const plugins: Config['plugins'] = [assert(), apiClient(), pluginAdonisJS(app)]

/**
 * Refuses to go on unless the connection's database is the one bin/test.ts
 * created for this run: its comment must be the random mark only this
 * process knows. Migrating and rolling back any other database (the one
 * `npm start` uses, a configured DATABASE_URL) would wipe its data (F9).
 */
export async function assertOwnDatabase() {
  const expected = process.env.TESSERA_TEST_DATABASE_MARK
  const { rows } = await db.rawQuery(
    `select current_database() as name,
            shobj_description(oid, 'pg_database') as mark
       from pg_database where datname = current_database()`
  )
  if (!expected || rows[0]?.mark !== expected) {
    throw new Error(
      `Refusing to run tests in database "${rows[0]?.name}": bin/test.ts did not create it for this run`
    )
  }
}

/**
 * The schema is migrated once for the run (and rolled back after) in the
 * run's own database; each test file cleans the rows it made (see
 * tests/helpers/database.ts).
 */
export const runnerHooks: Required<Pick<Config, 'setup' | 'teardown'>> = {
  setup: [
    async () => {
      await assertOwnDatabase()
      return testUtils.db().migrate()
    },
  ],
  teardown: [],
}

/**
 * Functional suites talk to a real HTTP server in this process.
 */
export const configureSuite: Config['configureSuite'] = (suite) => {
  if (['functional', 'security'].includes(suite.name)) {
    return suite.setup(() => testUtils.httpServer().start(createHttpServer))
  }
}
