import db from '@adonisjs/lucid/services/db'
import type { QueryClientContract, TransactionClientContract } from '@adonisjs/lucid/types/database'
import ServiceUnavailableException from '#exceptions/service_unavailable_exception'
import { transactionTimeouts } from '#config/database'

/**
 * `db.transaction(work)` with its outcome checked. knex resolves
 * `commit()` even when COMMIT fails (a connection killed mid-transaction,
 * say): the failure only rejects the transaction's `executionPromise`, which
 * Lucid never reads, so a write that did not happen would be reported as
 * done. A failed BEGIN surfaces the same way, later, as "Transaction query
 * already complete". Both mean the database could not make the change:
 * 503 with Retry-After, and never a 2xx for it (SECURITY.md F2).
 *
 * Behind a transaction-mode pooler (config/database.ts), the transaction
 * first sets its own statement and idle-in-transaction timeouts, as
 * `SET LOCAL`: the connection carries none there, and a row lock waited
 * for inside would otherwise hold the request and its server connection
 * without bound (SECURITY.md F8). One more round trip per transaction;
 * none elsewhere.
 */
export async function inTransaction<T>(
  work: (trx: TransactionClientContract) => Promise<T>,
  client: Pick<QueryClientContract, 'transaction'> = db
): Promise<T> {
  const trx = await client.transaction()
  const outcome = outcomeOf(trx)
  let failure: unknown
  outcome.catch((error) => {
    failure ??= error
  })
  try {
    if (transactionTimeouts) {
      await trx.rawQuery(transactionTimeouts.sql, transactionTimeouts.bindings)
    }
    const result = await work(trx)
    await trx.commit()
    await outcome
    return result
  } catch (error) {
    const lost = failure
    if (!trx.isCompleted) await trx.rollback().catch(() => {})
    if (lost !== undefined) throw new ServiceUnavailableException(undefined, 5, { cause: lost })
    throw error
  }
}

/**
 * Runs `callback` once `trx` has committed — really committed: Lucid's
 * `after('commit')` hooks also run when COMMIT failed (see `inTransaction`),
 * this reads the transaction's own outcome instead. Never runs after a
 * rollback or a failed COMMIT; the callback's errors are its own.
 */
export function afterCommitted(trx: TransactionClientContract, callback: () => void) {
  outcomeOf(trx).then(callback, () => {})
}

/**
 * The transaction's real outcome: knex's `executionPromise`, which
 * resolves once COMMIT succeeded and rejects on a failed COMMIT or a
 * rollback (Lucid does not expose it).
 */
function outcomeOf(trx: TransactionClientContract): Promise<unknown> {
  return (trx.knexClient as any).executionPromise
}
