import pg from 'pg'
import env from '#start/env'
import app from '@adonisjs/core/services/app'
import { defineConfig } from '@adonisjs/lucid'

/**
 * Every wait on PostgreSQL is bounded: a pool that cannot hand out a
 * connection, a server that does not accept one, or a statement that runs
 * too long fails fast, and the error handler turns it into 503 with
 * Retry-After. Unbounded, `pg` waits forever and knex for 60 s (SECURITY.md F1).
 */
const acquireTimeout = env.get('DB_ACQUIRE_TIMEOUT_MS', 3000)
const connectTimeout = env.get('DB_CONNECT_TIMEOUT_MS', 3000)
const statementTimeout = env.get('DB_STATEMENT_TIMEOUT_MS', 5000)

/**
 * bigint ids and counts as JavaScript numbers: ids stay far below 2^53.
 */
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10))

const dbConfig = defineConfig({
  connection: 'postgres',
  prettyPrintDebugQueries: false,
  connections: {
    postgres: {
      client: 'pg',
      connection: {
        connectionString: env.get('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/tessera'),
        application_name: 'tessera',
        connectionTimeoutMillis: connectTimeout,
        statement_timeout: statementTimeout,
        query_timeout: statementTimeout + 1000,
        idle_in_transaction_session_timeout: statementTimeout * 2,
      } as { connectionString: string },
      pool: {
        min: 0,
        max: env.get('DB_POOL_MAX', 10),
        acquireTimeoutMillis: acquireTimeout,
        createTimeoutMillis: connectTimeout,
        idleTimeoutMillis: 30_000,
        propagateCreateError: false,
      },
      ...({ acquireConnectionTimeout: acquireTimeout } as {}),
      migrations: {
        naturalSort: true,
        paths: ['database/migrations'],
      },
      schemaGeneration: {
        enabled: !app.inProduction,
        excludeTables: ['rate_limits'],
      },
      debug: false,
    },
  },
})

export default dbConfig
