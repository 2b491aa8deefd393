import pg from 'pg'

/**
 * What DATABASE_URL points at (config/setting.ts `database.pooler`):
 * PostgreSQL itself, or a PgBouncer in session or transaction pool mode.
 */
export type Pooler = 'none' | 'session' | 'transaction'

/**
 * The two server-side time bounds of SECURITY.md F1, in milliseconds:
 * `statement` for one statement, `idleInTransaction` for a transaction
 * left open with nothing running (a frozen or killed caller).
 */
export type Timeouts = { statement: number; idleInTransaction: number }

/**
 * The SQL that sets `timeouts` for the rest of the session: run once on
 * each new connection behind a session-mode pooler, which pins one server
 * connection to it until it closes (PgBouncer's `DISCARD ALL` then resets
 * them). Two statements in one simple-protocol message: one round trip.
 *
 * @throws Error when a value is not a non-negative integer (they come from
 *   configuration, never from a request, but are written into SQL text)
 */
export function sessionTimeoutsSql(timeouts: Timeouts) {
  return `set statement_timeout = ${integer(timeouts.statement)}; set idle_in_transaction_session_timeout = ${integer(timeouts.idleInTransaction)}`
}

/**
 * The statement that sets `timeouts` for the current transaction only
 * (`set_config(…, true)` is `SET LOCAL`), with its two bindings. Behind a
 * transaction-mode pooler a session setting would land on whichever server
 * connection ran it, for whichever client gets that connection next, so
 * the bounds are set again inside every transaction, first thing.
 */
export function transactionTimeoutsStatement(timeouts: Timeouts) {
  return {
    sql: `select set_config('statement_timeout', ?, true), set_config('idle_in_transaction_session_timeout', ?, true)`,
    bindings: [`${integer(timeouts.statement)}ms`, `${integer(timeouts.idleInTransaction)}ms`],
  }
}

type PooledClient = pg.Client & {
  host: string
  port: number
  processID: number | null
  secretKey: unknown
}

/**
 * Makes `client` (a knex pool connection) safe behind a transaction-mode
 * pooler. Called from the pool's `afterCreate`, once per connection.
 *
 * - Statements are sent unnamed. `pg` prepares a named statement once per
 *   client connection and afterwards sends only its name, but the pooler
 *   hands each transaction whichever server connection is free: the name
 *   is then unknown there (26000) or taken (42P05). Unnamed, every
 *   statement carries its text; PostgreSQL parses it each time. This
 *   covers the app's hot path (app/modules/tokens/token_store.ts) and the
 *   limiter's database store, which names its statements too.
 * - A statement sent outside a transaction and still running
 *   `cancelAfter.outside` ms later is cancelled through the pooler (a
 *   CancelRequest with the keys the pooler gave this connection; PgBouncer
 *   forwards it to the server connection running the statement, and drops
 *   it if none is). The server-side `statement_timeout` cannot be relied
 *   on here: startup parameters are refused, and a session `SET` would not
 *   follow the client. Transactions set it themselves, server-side
 *   (`transactionTimeoutsStatement`); this bounds the statements outside
 *   them (the hot path, the limiter's upserts, BEGIN). The statement fails
 *   with 57014, which the error handler answers with 503.
 * - Inside a transaction the cancel comes only after `cancelAfter.inside`
 *   ms (the client-side `query_timeout`): by then the transaction's own
 *   timeout has cut the statement, unless the transaction was opened
 *   without setting one; either way nothing keeps running on the server
 *   once the client has given up on it.
 *
 * Whether a transaction is open is what the last ReadyForQuery said
 * (`getTransactionStatus()`: 'T' in one, 'E' in a failed one).
 *
 * Statements submitted as objects with their own `submit` (cursors,
 * streams) pass through unchanged.
 */
export function adaptToTransactionPooler(
  client: pg.Client,
  cancelAfter: { outside: number; inside: number }
) {
  const pooled = client as PooledClient
  const send = client.query.bind(client) as (...args: any[]) => any
  ;(client as any).query = (config: any, values?: any, callback?: any) => {
    if (typeof values === 'function') {
      callback = values
      values = undefined
    }
    if (config && typeof config === 'object' && typeof config.submit === 'function') {
      return send(config, values, callback)
    }
    if (config && typeof config === 'object' && config.name !== undefined) {
      config = { ...config }
      delete config.name
    }
    const status = pooled.getTransactionStatus()
    const inTransaction = status === 'T' || status === 'E'
    const timer = setTimeout(
      () => cancelRunningStatement(pooled),
      inTransaction ? cancelAfter.inside : cancelAfter.outside
    )
    try {
      if (typeof callback === 'function') {
        return send(config, values, (error: unknown, result: unknown) => {
          clearTimeout(timer)
          callback(error, result)
        })
      }
      return Promise.resolve(send(config, values)).finally(() => clearTimeout(timer))
    } catch (error) {
      clearTimeout(timer)
      throw error
    }
  }
}

/**
 * How long a cancel connection is kept open for the other side to close
 * it. PgBouncer 1.18 drops a cancel whose sender hangs up before the
 * cancel has been passed on to PostgreSQL ("client unexpected eof").
 */
const CANCEL_WAIT_MS = 5000

/**
 * Sends a CancelRequest for whatever `client` is running, on a connection
 * of its own to the same host and port (or Unix socket, as `pg` names it),
 * and leaves that connection for the server to close; errors are ignored
 * (a lost cancel leaves the client-side `query_timeout` as the bound).
 * A statement that ends just as the timer fires may let the cancel reach
 * the connection's next statement (a spurious 503, within a few ms).
 */
function cancelRunningStatement(client: PooledClient) {
  if (client.processID === null || client.processID === undefined) return
  const connection = new pg.Connection() as pg.Connection & {
    connect(portOrSocket: number | string, host?: string): void
    cancel(processID: number, secretKey: unknown): void
  }
  connection.on('error', () => {})
  connection.on('connect', () => {
    connection.cancel(client.processID!, client.secretKey)
    const giveUp = setTimeout(() => connection.stream.destroy(), CANCEL_WAIT_MS)
    giveUp.unref()
    connection.stream.once('close', () => clearTimeout(giveUp))
  })
  if (client.host.startsWith('/')) connection.connect(`${client.host}/.s.PGSQL.${client.port}`)
  else connection.connect(client.port, client.host)
}

function integer(value: number) {
  if (!Number.isInteger(value) || value < 0) throw new Error(`not a timeout in ms: ${value}`)
  return value
}
