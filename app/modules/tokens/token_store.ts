import type { Database } from '@adonisjs/lucid/database'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import type { AuthenticationRow } from '#modules/tokens/authentication'
import type { SignupClaim, TokenRow, TokenType } from '#modules/tokens/token_types'

const TABLE = 'tokens'

/**
 * The hot-path statements, run as named prepared statements (see
 * `#prepared`; unnamed behind a transaction-mode pooler): an access token
 * and its user in one round trip (by id *and* type), and the coalesced
 * `last_used_at` write. Columns are listed,
 * not `t.*`, so a column added by a later migration does not change the
 * result type of a statement already prepared on a live connection. The
 * user's password hash is not among them: no signed-in request needs it.
 */
const AUTHENTICATE = {
  name: 'tessera_authenticate',
  text: `select t.tokenable_id, t.name, t.hash, t.abilities, t.created_at, t.updated_at,
       t.last_used_at, t.expires_at,
       u.email as u_email, u.name as u_name, u.roles as u_roles,
       u.email_verified_at as u_email_verified_at, u.created_at as u_created_at
  from ${TABLE} t join users u on u.id = t.tokenable_id
 where t.id = $1 and t.type = 'access'`,
}

/**
 * `last_used_at`, unless another instance (or a racing request) already
 * recorded a use within the interval.
 */
const TOUCH = {
  name: 'tessera_touch_token',
  text: `update ${TABLE} set last_used_at = now()
 where id = $1 and (last_used_at is null or last_used_at < now() - make_interval(secs => $2))`,
}

/**
 * Every statement on the `tokens` table, and nothing else: no checks, no
 * policy. Written with the query builder, except the two hot-path
 * statements above, which cost a round trip's worth of query building
 * each if built (PERFORMANCE.md: knex at 0.55–0.60× raw `pg`).
 *
 * Methods that take `trx` run in the caller's transaction; the others on
 * the app's pool.
 */
export default class TokenStore {
  constructor(private db: Database) {}

  /**
   * Locks the user's row until `trx` ends: token creation for one user is
   * serialised by it (superseding, the session cap).
   */
  async lockUser(trx: TransactionClientContract, userId: number) {
    await trx.from('users').where('id', userId).forUpdate().select('id')
  }

  /**
   * Deletes the user's tokens of `type`; returns how many there were.
   */
  async deleteOfType(trx: TransactionClientContract, userId: number, type: TokenType) {
    return Number(await trx.from(TABLE).where({ tokenable_id: userId, type }).delete())
  }

  /**
   * Deletes the user's tokens of `type` named `name` (the job that issued
   * them: see TokenModule.create's `issuer`).
   */
  async deleteNamed(trx: TransactionClientContract, userId: number, type: TokenType, name: string) {
    await trx.from(TABLE).where({ tokenable_id: userId, type, name }).delete()
  }

  /**
   * Inserts a token row and returns it.
   */
  async insert(
    trx: TransactionClientContract,
    token: {
      userId: number
      type: TokenType
      name: string | null
      hash: string
      createdAt: Date
      expiresAt: Date | null
      claim: SignupClaim | null
    }
  ): Promise<TokenRow> {
    const [row] = await trx
      .insertQuery()
      .table(TABLE)
      .insert({
        tokenable_id: token.userId,
        type: token.type,
        name: token.name,
        hash: token.hash,
        abilities: '["*"]',
        created_at: token.createdAt,
        updated_at: token.createdAt,
        last_used_at: null,
        expires_at: token.expiresAt,
        claim: token.claim ? JSON.stringify(token.claim) : null,
      })
      .returning('*')
    return row
  }

  /**
   * Deletes the user's access tokens beyond `limit`, newest kept (ties
   * broken by id).
   */
  async evictBeyondLimit(trx: TransactionClientContract, userId: number, limit: number) {
    const beyond = trx
      .from(TABLE)
      .select('id')
      .where({ tokenable_id: userId, type: 'access' })
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .offset(limit)
    await trx.from(TABLE).whereIn('id', beyond).delete()
  }

  /**
   * The row of token `id` if it is of `type`.
   */
  async find(id: string, type: TokenType): Promise<TokenRow | null> {
    return this.db.from(TABLE).where({ id, type }).first()
  }

  /**
   * The row of token `id` if it is of `type`, locked until `trx` ends.
   */
  async findForUpdate(
    trx: TransactionClientContract,
    id: string,
    type: TokenType
  ): Promise<TokenRow | null> {
    return trx.from(TABLE).where({ id, type }).forUpdate().first()
  }

  async delete(trx: TransactionClientContract, id: string) {
    await trx.from(TABLE).where({ id }).delete()
  }

  /**
   * Access token `id` and its user, in one round trip.
   */
  async findForAuthentication(id: string): Promise<AuthenticationRow | null> {
    const { rows } = await this.#prepared(AUTHENTICATE, [id])
    return rows[0] ?? null
  }

  /**
   * Records a use of token `id`, unless one within `intervalSeconds` is
   * recorded already.
   */
  async touch(id: string, intervalSeconds: number) {
    await this.#prepared(TOUCH, [id, intervalSeconds])
  }

  /**
   * The user's tokens of a type, newest first.
   */
  async list(userId: number, type: TokenType): Promise<TokenRow[]> {
    return this.db
      .from(TABLE)
      .where({ tokenable_id: userId, type })
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
  }

  /**
   * Deletes token `id` if the user holds it and it is of `type`; whether
   * it did.
   */
  async deleteOne(userId: number, id: string, type: TokenType) {
    const deleted = await this.db.from(TABLE).where({ id, tokenable_id: userId, type }).delete()
    return Number(deleted) > 0
  }

  /**
   * Deletes every token of `type` the user holds, but `except`.
   */
  async deleteAll(
    userId: number,
    type: TokenType,
    options: { except?: string; trx?: TransactionClientContract } = {}
  ) {
    const query = (options.trx ?? this.db).from(TABLE).where({ tokenable_id: userId, type })
    if (options.except !== undefined) query.whereNot('id', options.except)
    await query.delete()
  }

  /**
   * Deletes up to `limit` expired tokens; how many went.
   */
  async deleteExpired(limit: number) {
    const expired = this.db
      .from(TABLE)
      .select('id')
      .where('expires_at', '<', this.db.raw('now()'))
      .limit(limit)
    return Number(await this.db.from(TABLE).whereIn('id', expired).delete())
  }

  /**
   * Runs a statement through `pg` itself, on a connection of the app's
   * pool (knex's): a named prepared statement, so PostgreSQL parses and
   * plans it once per connection instead of on every request
   * (PERFORMANCE.md P1). `db.connection()` is the global transaction when
   * one is open (tests); its client hands out that transaction's
   * connection.
   *
   * The connection decides whether the name is used: behind a
   * transaction-mode pooler (DB_POOLER=transaction) it sends every
   * statement unnamed and cancels one outside a transaction that outlives
   * the statement timeout (database/pooler.ts, SECURITY.md F8), since
   * consecutive statements may run on different server connections.
   * Still one round trip, and nothing written on the request path.
   */
  async #prepared(
    statement: { name: string; text: string },
    values: unknown[]
  ): Promise<{ rows: any[] }> {
    const client = this.db.connection().getWriteClient().client
    const connection = await client.acquireConnection()
    try {
      return await connection.query({ ...statement, values })
    } finally {
      client.releaseConnection(connection)
    }
  }
}
