import { assert } from '@japa/assert'
import { apiClient } from '@japa/api-client'
import app from '@adonisjs/core/services/app'
import type { Config } from '@japa/runner/types'
import { pluginAdonisJS } from '@japa/plugin-adonisjs'
import testUtils from '@adonisjs/core/services/test_utils'
import { createHttpServer } from '#start/http_server'

/**
 * Japa plugins: assertions, an HTTP client, and the AdonisJS bridge.
 */
export const plugins: Config['plugins'] = [assert(), apiClient(), pluginAdonisJS(app)]

/**
 * The schema is migrated once for the run (and rolled back after); each
 * test file cleans the rows it made (see tests/helpers/database.ts).
 */
export const runnerHooks: Required<Pick<Config, 'setup' | 'teardown'>> = {
  setup: [() => testUtils.db().migrate()],
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
