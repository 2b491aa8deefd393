import { AccessToken } from '@adonisjs/auth/access_tokens'
import type { Database } from '@adonisjs/lucid/database'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import type { Logger } from '@adonisjs/core/logger'
import type { Settings } from '#config/setting'
import type User from '#models/user'
import { inTransaction } from '#services/transactions'
import { Authentication, toAccessToken } from '#modules/tokens/authentication'
import LastUsedRecorder from '#modules/tokens/last_used_recorder'
import TokenPolicy from '#modules/tokens/token_policy'
import TokenStore from '#modules/tokens/token_store'
import { isRowId, parseToken } from '#modules/tokens/token_format'
import {
  SEED_LENGTH,
  TOKEN_PREFIXES,
  type ConsumedToken,
  type SignupClaim,
  type TokenType,
} from '#modules/tokens/token_types'

export { Authentication } from '#modules/tokens/authentication'
export {
  TOKEN_PREFIXES,
  TOKEN_TYPES,
  type ConsumedToken,
  type SignupClaim,
  type TokenType,
} from '#modules/tokens/token_types'

/**
 * Every token the service issues — access, email verification, password
 * reset — in one typed table, created and checked here and nowhere else.
 * The container hands out one instance (providers/token_provider.ts).
 *
 * This is the facade; each concern has its own file in `tokens/`:
 * - `token_format.ts` the token string (prefix, id, secret, CRC32) and the
 *   row-id rule, checked before any query;
 * - `token_store.ts` every statement on the table;
 * - `token_policy.ts` lifetimes, the session cap and the secret, expiry
 *   and idle check;
 * - `authentication.ts` a verified access token and its user, built from
 *   one row;
 * - `last_used_recorder.ts` the coalesced `last_used_at` writes.
 *
 * Tokens use @adonisjs/auth's format and its `AccessToken` class, so the
 * stock provider can read what this module writes. What it adds: checksum
 * and id validation before any query, lookups by id *and* type, no write
 * on a failed check, coalesced `last_used_at`, atomic single use,
 * superseding and the session cap in one locked transaction.
 */
export default class TokenModule {
  readonly store: TokenStore
  readonly policy: TokenPolicy
  #lastUsed: LastUsedRecorder

  constructor(
    private db: Database,
    settings: Settings,
    logger: Logger
  ) {
    this.store = new TokenStore(db)
    this.policy = new TokenPolicy(settings)
    this.#lastUsed = new LastUsedRecorder(this.store, logger)
  }

  /**
   * Splits a presented token into its id and secret, or null when the
   * prefix, encoding, id or CRC32 checksum is wrong (see token_format.ts).
   */
  static parse = parseToken

  /**
   * Issues a token and returns it with its plain value (`token.value`),
   * which exists only in this object: the table keeps a SHA-256 hash.
   *
   * Runs in one transaction under a lock on the user's row, so that
   * - issuing a verification or reset token deletes the older ones of its
   *   type (only the newest link works: SECURITY.md T6);
   * - issuing an access token evicts the user's oldest access tokens beyond
   *   the session cap, even when sign-ins race (T7).
   *
   * `options.claim` (verification tokens only) is the sign-up claim the
   * token will activate when used (A7); it is dropped when the user
   * already has a pending verification token, whichever request issued
   * that one first: the account is contested.
   *
   * `options.issuer` (verification and reset tokens) names the job that
   * issues the token, stored as its `name`. A job may run more than once
   * (its mail sent, then its process killed before it was marked done): a
   * token its own earlier run issued is replaced without counting as a
   * contest, so the claim survives, and only the newest link works.
   *
   * @throws Error when a claim is given for another type.
   */
  async create(
    user: User,
    type: TokenType,
    options: { name?: string | null; claim?: SignupClaim | null; issuer?: string } = {}
  ) {
    if (options.claim && type !== 'email_verification') {
      throw new Error('Only email-verification tokens carry a sign-up claim')
    }
    const transient = AccessToken.createTransientToken(
      user.id,
      SEED_LENGTH,
      this.policy.lifetimeOf(type) ?? undefined
    )
    return inTransaction(async (trx) => {
      await this.store.lockUser(trx, user.id)
      /**
       * Taken under the lock, so creation times follow the order in which
       * racing sign-ins get it, and eviction (by created_at, then id) never
       * removes a token newer than one it keeps.
       */
      const createdAt = new Date()
      let claim = options.claim ?? null
      if (type !== 'access' && options.issuer) {
        await this.store.deleteNamed(trx, user.id, type, options.issuer)
      }
      if (type !== 'access' && (await this.store.deleteOfType(trx, user.id, type)) > 0) {
        claim = null
      }
      const row = await this.store.insert(trx, {
        userId: user.id,
        type,
        name: options.issuer ?? options.name ?? null,
        hash: transient.hash,
        createdAt,
        expiresAt: transient.expiresAt ?? null,
        claim,
      })
      if (type === 'access') {
        await this.store.evictBeyondLimit(trx, user.id, this.sessionLimitFor(user))
      }
      return new AccessToken({
        identifier: String(row.id),
        tokenableId: user.id,
        type,
        prefix: TOKEN_PREFIXES[type],
        secret: transient.secret,
        name: row.name,
        hash: row.hash,
        abilities: ['*'],
        createdAt: row.created_at,
        updatedAt: row.updated_at,
        lastUsedAt: null,
        expiresAt: row.expires_at,
      })
    }, this.db)
  }

  /**
   * Seconds a new token of `type` lives (null: never expires).
   */
  lifetimeOf(type: TokenType) {
    return this.policy.lifetimeOf(type)
  }

  /**
   * The session cap for `user` (see TokenPolicy#sessionLimitFor).
   */
  sessionLimitFor(user: User) {
    return this.policy.sessionLimitFor(user.roles)
  }

  /**
   * The token behind `value` if it is of `type`, unexpired and its secret
   * matches (compared in constant time); null otherwise — wrong prefix,
   * wrong type, unknown, expired: all the same null. Writes nothing unless
   * the check succeeds.
   */
  async verify(value: unknown, type: TokenType): Promise<AccessToken | null> {
    const parsed = parseToken(value, type)
    if (!parsed) return null
    const row = await this.store.find(parsed.id, type)
    if (!row || !this.policy.accepts(row, type, parsed.secret)) return null
    this.#recordUse(parsed.id, row.last_used_at)
    return toAccessToken(row)
  }

  /**
   * Verifies an access token and loads its user in one query. Roles and
   * other user fields are therefore read fresh on every request.
   */
  async authenticate(value: unknown): Promise<Authentication | null> {
    const parsed = parseToken(value, 'access')
    if (!parsed) return null
    const row = await this.store.findForAuthentication(parsed.id)
    if (!row || !this.policy.accepts(row, 'access', parsed.secret)) return null
    this.#recordUse(parsed.id, row.last_used_at)
    return new Authentication(parsed.id, row)
  }

  /**
   * Uses up a single-use token: locks its row, checks it, deletes it, all
   * inside `trx`, so of N concurrent uses exactly one gets the token and the
   * caller's follow-up writes commit or roll back with the deletion (T5).
   * The result carries the token's sign-up claim (null for most tokens).
   */
  async consume(
    trx: TransactionClientContract,
    value: unknown,
    type: Exclude<TokenType, 'access'>
  ): Promise<ConsumedToken | null> {
    const parsed = parseToken(value, type)
    if (!parsed) return null
    const row = await this.store.findForUpdate(trx, parsed.id, type)
    if (!row || !this.policy.accepts(row, type, parsed.secret)) return null
    await this.store.delete(trx, parsed.id)
    return Object.assign(toAccessToken(row), { claim: row.claim ?? null })
  }

  /**
   * The user's tokens of a type, newest first.
   */
  async list(user: User, type: TokenType) {
    const rows = await this.store.list(user.id, type)
    return rows.map(toAccessToken)
  }

  /**
   * Revokes one of the user's tokens by id. False when no such token of
   * that type belongs to the user (or `id` is no row id at all).
   */
  async revoke(user: User | number, id: string | number, type: TokenType = 'access') {
    if (!isRowId(String(id))) return false
    return this.store.deleteOne(userIdOf(user), String(id), type)
  }

  /**
   * Revokes every token of a type the user holds, except `except` (the id
   * of the token presented with the request, say). Pass `trx` to make it
   * part of a larger change.
   */
  async revokeAll(
    user: User | number,
    type: TokenType,
    options: { except?: string | number; trx?: TransactionClientContract } = {}
  ) {
    const except = options.except === undefined ? undefined : String(options.except)
    await this.store.deleteAll(userIdOf(user), type, { except, trx: options.trx })
  }

  /**
   * Deletes expired tokens, `batchSize` rows per statement, so a large
   * backlog never holds long locks. Returns how many went.
   */
  async prune(batchSize = 5000) {
    let total = 0
    while (true) {
      const deleted = await this.store.deleteExpired(batchSize)
      total += deleted
      if (deleted < batchSize) return total
    }
  }

  #recordUse(id: string, lastUsedAt: Date | null) {
    this.#lastUsed.record(id, lastUsedAt, this.policy.lastUsedInterval)
  }
}

function userIdOf(user: User | number) {
  return typeof user === 'number' ? user : user.id
}
