import pg from 'pg'
import env from '#start/env'
import app from '@adonisjs/core/services/app'
import logger from '@adonisjs/core/services/logger'
import { defineConfig } from '@adonisjs/lucid'
import settings from '#config/setting'
import {
  adaptToTransactionPooler,
  sessionTimeoutsSql,
  transactionTimeoutsStatement,
  type Pooler,
} from '#database/pooler'

/**
 * Every wait on PostgreSQL is bounded: a pool that cannot hand out a
 * connection, a server that does not accept one, or a statement that runs
 * too long fails fast, and the error handler turns it into 503 with
 * Retry-After. Unbounded, `pg` waits forever and knex for 60 s (SECURITY.md F1).
 */
const acquireTimeout = settings.database.acquireTimeoutMs
const connectTimeout = settings.database.connectTimeoutMs
const statementTimeout = settings.database.statementTimeoutMs
const timeouts = { statement: statementTimeout, idleInTransaction: statementTimeout * 2 }
/** The client-side bound, for a server that does not answer at all. */
const queryTimeout = statementTimeout + 1000

/**
 * Ace commands (migrations, operator commands, the prunes) connect to
 * DIRECT_DATABASE_URL when it is set, as to PostgreSQL itself: Lucid's
 * migration lock is a session-scoped advisory lock, which a
 * transaction-mode pooler would leave held on a server connection
 * (SECURITY.md F8). The server process uses DATABASE_URL.
 */
const direct = app.getEnvironment() === 'console' && settings.database.directUrl !== undefined
const pooler: Pooler = direct ? 'none' : settings.database.pooler
const connectionString = direct
  ? settings.database.directUrl!
  : env.get('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/tessera')

/**
 * Where the server-side timeouts are set, by what DATABASE_URL is
 * (SECURITY.md F1, F8):
 * - PostgreSQL itself: as startup parameters of each connection.
 * - a session-mode PgBouncer: it refuses those parameters ("unsupported
 *   startup parameter"), so one `SET` per new connection, which keeps its
 *   server connection for life.
 * - a transaction-mode PgBouncer: per transaction (`transactionTimeouts`,
 *   run by app/services/transactions.ts) and, for statements outside one,
 *   a cancel sent through the pooler (`adaptToTransactionPooler`, which
 *   also unnames prepared statements, and cancels a statement inside a
 *   transaction that outlives `query_timeout`).
 * Everywhere, `query_timeout` is the client-side bound a second later, for
 * a server that does not answer at all.
 */
const startupTimeouts: Record<string, number> =
  pooler === 'none'
    ? {
        statement_timeout: timeouts.statement,
        idle_in_transaction_session_timeout: timeouts.idleInTransaction,
      }
    : {}

/**
 * knex's pool hook, once per new connection before its first use: the
 * session settings or the transaction-mode adaptations above. An error
 * (the SET failing) discards the connection, and acquiring it fails: 503.
 *
 * Behind a session-mode PgBouncer whose server pool is full, the login
 * succeeds at once and the SET waits in PgBouncer's queue. It is bounded
 * by the connect timeout (the pool gives up on the whole create then
 * anyway), and a connection whose SET failed is closed here: knex does not
 * destroy a connection whose `afterCreate` fails, and pg leaves it open
 * after a query timeout. Left open, each abandoned create stayed queued in
 * PgBouncer, took a server connection as soon as one was free (a raised
 * `default_pool_size` included) and kept it, unused, for good.
 */
function afterCreate(connection: pg.Client, done: (error: Error | null, c: pg.Client) => void) {
  if (pooler === 'session') {
    const set = { text: sessionTimeoutsSql(timeouts), query_timeout: connectTimeout }
    connection.query(set as pg.QueryConfig, (error: Error | null) => {
      if (error) connection.end().catch(() => {})
      done(error, connection)
    })
    return
  }
  if (pooler === 'transaction') {
    adaptToTransactionPooler(connection, { outside: timeouts.statement, inside: queryTimeout })
  }
  done(null, connection)
}

/**
 * The statement that opens every transaction behind a transaction-mode
 * pooler, or null when the connection keeps its own timeouts.
 */
export const transactionTimeouts =
  pooler === 'transaction' ? transactionTimeoutsStatement(timeouts) : null

/**
 * bigint ids and counts as JavaScript numbers: ids stay far below 2^53.
 */
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10))

/**
 * knex's own log lines — "Acquire connection error: <error with its
 * stack>" each time PostgreSQL cannot be reached — through the app's
 * logger, cut to their first line unless LOG_LEVEL is debug or trace: an
 * outage is one readable line per attempt, and stacks stay a debugging
 * aid, as for every other log line (README, Configuration). Only called
 * once the app has booted (the logger service is set by then).
 */
function firstLine(message: unknown) {
  const text = String(message)
  return logger.isLevelEnabled('debug') ? text : text.split('\n', 1)[0]
}

const knexLog = {
  warn: (message: unknown) => logger.warn(firstLine(message)),
  error: (message: unknown) => logger.error(firstLine(message)),
  deprecate: (message: unknown) => logger.info(firstLine(message)),
  debug: (message: unknown) => logger.debug(String(message)),
}

const dbConfig = defineConfig({
  connection: 'postgres',
  prettyPrintDebugQueries: false,
  connections: {
    postgres: {
      client: 'pg',
      /**
       * What knex would otherwise ask the server (`select version()`) on
       * each new connection until one answers, only to choose `json` over
       * `text` for json columns. Declared (pg-boss already needs 13 or
       * later), a new connection sends nothing but its login and the
       * `afterCreate` statement, which closes it when it fails: a version
       * query timed out left its connection open, as described there.
       */
      version: '13',
      connection: {
        connectionString,
        application_name: 'tessera',
        connectionTimeoutMillis: connectTimeout,
        ...startupTimeouts,
        query_timeout: queryTimeout,
      } as { connectionString: string },
      pool: {
        min: 0,
        max: settings.database.poolMax,
        acquireTimeoutMillis: acquireTimeout,
        createTimeoutMillis: connectTimeout,
        idleTimeoutMillis: 30_000,
        propagateCreateError: false,
        afterCreate,
      },
      ...({ acquireConnectionTimeout: acquireTimeout, log: knexLog } as {}),
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
