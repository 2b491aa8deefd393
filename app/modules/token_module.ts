import { hash } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { AccessToken, DbAccessTokensProvider } from '@adonisjs/auth/access_tokens'
import { Secret, safeEqual } from '@adonisjs/core/helpers'
import type { Database } from '@adonisjs/lucid/database'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import type { Logger } from '@adonisjs/core/logger'
import type { Settings } from '#config/setting'
import User, { type Profile } from '#models/user'
import { inTransaction } from '#services/transactions'

export const TOKEN_TYPES = ['access', 'email_verification', 'password_reset'] as const
export type TokenType = (typeof TOKEN_TYPES)[number]

/**
 * Public prefixes: a leaked token is recognisable (secret scanners) and a
 * token of one type never parses as another.
 */
export const TOKEN_PREFIXES: Record<TokenType, string> = {
  access: 'oat_',
  email_verification: 'evt_',
  password_reset: 'prt_',
}

const TABLE = 'tokens'
const SEED_LENGTH = 40
const MAX_ID = 9223372036854775807n

/**
 * The hot-path statements, run as named prepared statements (see
 * `#query`): an access token and its user in one round trip (by id *and*
 * type), and the coalesced `last_used_at` write. Columns are listed, not
 * `t.*`, so a column added by a later migration does not change the result
 * type of a statement already prepared on a live connection. The user's
 * password hash is not among them: no signed-in request needs it (a
 * password change reads it fresh), and every column here is parsed on
 * every request.
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

type TokenRow = {
  id: string | number
  tokenable_id: number
  type: string
  name: string | null
  hash: string
  abilities: string
  created_at: Date
  updated_at: Date
  last_used_at: Date | null
  expires_at: Date | null
  claim?: SignupClaim | null
}

/**
 * What a sign-up submitted, carried by the verification token it issued
 * (SECURITY.md A7): the argon2 hash of its password (a PHC string) and its
 * display name. Using the token makes these the account's.
 */
export type SignupClaim = { passwordHash: string; name: string | null }

/**
 * A single-use token as `consume` returns it: the token, and the sign-up
 * claim it carried (verification tokens from a sign-up), else null.
 */
export type ConsumedToken = AccessToken & { claim: SignupClaim | null }

/**
 * The columns `#check` reads: secret hash, expiry and idle time.
 */
type CheckedColumns = Pick<TokenRow, 'hash' | 'created_at' | 'last_used_at' | 'expires_at'>

/**
 * A row of AUTHENTICATE: the token's columns but its id and type (both in
 * the WHERE clause), and the user's, prefixed `u_`.
 */
type AuthenticateRow = Omit<TokenRow, 'id' | 'type'> & {
  u_email: string
  u_name: string | null
  u_roles: string[]
  u_email_verified_at: Date | null
  u_created_at: Date
}

/**
 * A verified access token and its user, as AUTHENTICATE returned them.
 * `profile` is what `GET /me` answers and what role checks read; the Lucid
 * `User` and the `AccessToken` are built from the row on first use, which
 * a plain signed-in read never makes (building a model costs more than
 * the rest of the check: PERFORMANCE.md P1).
 */
export class Authentication {
  readonly profile: Profile
  #row: AuthenticateRow
  #user?: User
  #token?: AccessToken

  constructor(
    readonly tokenId: string,
    row: AuthenticateRow
  ) {
    this.#row = row
    this.profile = {
      id: row.tokenable_id,
      email: row.u_email,
      name: row.u_name,
      roles: row.u_roles,
      emailVerifiedAt: row.u_email_verified_at,
      createdAt: row.u_created_at,
    }
  }

  /**
   * The user as a Lucid model, loaded from this row: every column but the
   * password hash and `updated_at`, which were not selected (`save()`
   * writes only what changed; `refresh()` reads the rest).
   */
  get user(): User {
    const row = this.#row
    this.#user ??= User.$createFromAdapterResult({
      id: row.tokenable_id,
      email: row.u_email,
      name: row.u_name,
      roles: row.u_roles,
      email_verified_at: row.u_email_verified_at,
      created_at: row.u_created_at,
    }) as User
    return this.#user
  }

  get token(): AccessToken {
    this.#token ??= toAccessToken({ ...this.#row, id: this.tokenId, type: 'access' })
    return this.#token
  }
}

/**
 * Every token the service issues — access, email verification, password
 * reset — in one typed table, created and checked here and nowhere else.
 *
 * Built on @adonisjs/auth's DbAccessTokensProvider (one per type, same
 * table, same token format, so the stock provider and guard can read what
 * this module writes), adding what the stock provider lacks: checksum and
 * id validation before any query, lookups by id *and* type, no write on a
 * failed check, coalesced `last_used_at`, atomic single use, superseding
 * and the session cap in one locked transaction.
 */
export default class TokenModule {
  readonly providers: Record<TokenType, DbAccessTokensProvider<typeof User>>
  #lastTouched = new Map<string, number>()

  constructor(
    private db: Database,
    private settings: Settings,
    private logger: Logger
  ) {
    this.providers = Object.fromEntries(
      TOKEN_TYPES.map((type) => [
        type,
        DbAccessTokensProvider.forModel(User, {
          table: TABLE,
          type,
          prefix: TOKEN_PREFIXES[type],
          tokenSecretLength: SEED_LENGTH,
        }),
      ])
    ) as Record<TokenType, DbAccessTokensProvider<typeof User>>
  }

  /**
   * Splits a presented token into its id and secret, or null when the
   * prefix, encoding, id or CRC32 checksum is wrong. Pure CPU, no I/O:
   * malformed and forged strings never reach the database.
   */
  static parse(value: unknown, type: TokenType): { id: string; secret: Secret<string> } | null {
    if (typeof value !== 'string' || value.length > 256) return null
    /**
     * The format of AccessToken.decode (prefix, base64url id, ".",
     * base64url secret: a 40-character seed, then its CRC32 in decimal),
     * checked in a scratch buffer: a refused token allocates nothing.
     */
    const prefix = TOKEN_PREFIXES[type]
    if (!value.startsWith(prefix)) return null
    const dot = value.indexOf('.', prefix.length)
    if (dot === -1) return null
    const idLength = decodeInto(value, prefix.length, dot, ID_AT)
    if (!isTokenId(idLength)) return null
    const secretLength = decodeInto(value, dot + 1, value.length, SECRET_AT)
    if (secretLength <= SEED_LENGTH || !isChecksum(secretLength - SEED_LENGTH, crc32(SEED))) {
      return null
    }
    return {
      id: SCRATCH.toString('latin1', ID_AT, ID_AT + idLength),
      secret: new Secret(SCRATCH.toString('latin1', SECRET_AT, SECRET_AT + secretLength)),
    }
  }

  /**
   * Issues a token and returns it with its plain value (`token.value`),
   * which exists only in this object: the table keeps a SHA-256 hash.
   *
   * Runs in one transaction under a lock on the user's row, so that
   * - issuing a verification or reset token deletes the older ones of its
   *   type (only the newest link works);
   * - issuing an access token evicts the user's oldest access tokens beyond
   *   the session cap, even when sign-ins race.
   *
   * `options.claim` (verification tokens only) is the sign-up claim the
   * token will activate when used (see `SignupClaim`); it is dropped when
   * the user already has a pending verification token, whichever request
   * issued that one first.
   */
  async create(
    user: User,
    type: TokenType,
    options: { name?: string | null; claim?: SignupClaim | null } = {}
  ) {
    if (options.claim && type !== 'email_verification') {
      throw new Error('Only email-verification tokens carry a sign-up claim')
    }
    const transient = AccessToken.createTransientToken(
      user.id,
      SEED_LENGTH,
      this.lifetimeOf(type) ?? undefined
    )
    return inTransaction(async (trx) => {
      await trx.rawQuery('select id from users where id = ? for update', [user.id])
      /**
       * Taken under the lock, so creation times follow the order in which
       * racing sign-ins get it, and eviction (by created_at, then id) never
       * removes a token newer than one it keeps.
       */
      const now = new Date()
      let claim = options.claim ?? null
      if (type !== 'access') {
        const superseded = await trx.from(TABLE).where({ tokenable_id: user.id, type }).delete()
        /**
         * A pending link means another sign-up or a resend came first: the
         * account is contested, so no link may activate a claim (A7).
         */
        if (Number(superseded) > 0) claim = null
      }
      const [row] = await trx
        .insertQuery()
        .table(TABLE)
        .insert({
          tokenable_id: user.id,
          type,
          name: options.name ?? null,
          hash: transient.hash,
          abilities: '["*"]',
          created_at: now,
          updated_at: now,
          last_used_at: null,
          expires_at: transient.expiresAt ?? null,
          claim: claim ? JSON.stringify(claim) : null,
        })
        .returning('*')
      if (type === 'access') {
        await this.evictBeyondLimit(trx, user.id, this.sessionLimitFor(user))
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
   * Seconds a new token of `type` lives (null: access tokens configured
   * never to expire). Read at each issue, so settings apply at once.
   */
  lifetimeOf(type: TokenType) {
    const { accessTtl, verificationTtl, resetTtl } = this.settings.tokens
    return { access: accessTtl, email_verification: verificationTtl, password_reset: resetTtl }[
      type
    ]
  }

  /**
   * The session cap for a user: the largest per-role override among the
   * user's roles, or the default.
   */
  sessionLimitFor(user: User) {
    const overrides = user.roles
      .map((role) => this.settings.sessions.limitByRole[role])
      .filter((limit): limit is number => limit !== undefined)
    return overrides.length > 0 ? Math.max(...overrides) : this.settings.sessions.limit
  }

  /**
   * Deletes the user's access tokens beyond `limit`, newest kept (ties
   * broken by id). Call inside the transaction holding the user's lock.
   */
  async evictBeyondLimit(trx: TransactionClientContract, userId: number, limit: number) {
    await trx.rawQuery(
      `delete from ${TABLE} where id in (
         select id from ${TABLE} where tokenable_id = ? and type = 'access'
         order by created_at desc, id desc offset ?
       )`,
      [userId, limit]
    )
  }

  /**
   * The token behind `value` if it is of `type`, unexpired and its secret
   * matches (compared in constant time); null otherwise — wrong prefix,
   * wrong type, unknown, expired: all the same null. Writes nothing unless
   * the check succeeds.
   */
  async verify(value: unknown, type: TokenType): Promise<AccessToken | null> {
    const parsed = TokenModule.parse(value, type)
    if (!parsed) return null
    const row: TokenRow | null = await this.db.from(TABLE).where({ id: parsed.id, type }).first()
    if (!row || !this.#accept(parsed.id, row, type, parsed.secret)) return null
    return toAccessToken(row)
  }

  /**
   * Verifies an access token and loads its user in one query. Roles and
   * other user fields are therefore read fresh on every request.
   */
  async authenticate(value: unknown): Promise<Authentication | null> {
    const parsed = TokenModule.parse(value, 'access')
    if (!parsed) return null
    const { rows } = await this.#query(AUTHENTICATE, [parsed.id])
    if (rows.length === 0) return null
    const row: AuthenticateRow = rows[0]
    if (!this.#accept(parsed.id, row, 'access', parsed.secret)) return null
    return new Authentication(parsed.id, row)
  }

  /**
   * Runs a hot-path statement through `pg` itself, on a connection of the
   * app's pool (knex's): no Lucid or knex query building, which costs about
   * as much as the round trip (PERFORMANCE.md), and a named prepared
   * statement, so PostgreSQL parses and plans the join once per connection
   * instead of on every request. `db.connection()` is the global
   * transaction when one is open (tests); its client hands out that
   * transaction's connection.
   */
  async #query(
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

  /**
   * Uses up a single-use token: locks its row, checks it, deletes it, all
   * inside `trx`, so of N concurrent uses exactly one gets the token and the
   * caller's follow-up writes commit or roll back with the deletion. The
   * result carries the token's sign-up claim (null for most tokens).
   */
  async consume(
    trx: TransactionClientContract,
    value: unknown,
    type: Exclude<TokenType, 'access'>
  ): Promise<ConsumedToken | null> {
    const parsed = TokenModule.parse(value, type)
    if (!parsed) return null
    const { rows } = await trx.rawQuery(
      `select * from ${TABLE} where id = ? and type = ? for update`,
      [parsed.id, type]
    )
    if (rows.length === 0 || !this.#check(rows[0], type, parsed.secret)) return null
    await trx.from(TABLE).where({ id: parsed.id }).delete()
    return Object.assign(toAccessToken(rows[0]), { claim: rows[0].claim ?? null })
  }

  /**
   * The user's tokens of a type, newest first.
   */
  async list(user: User, type: TokenType) {
    const rows: TokenRow[] = await this.db
      .from(TABLE)
      .where({ tokenable_id: user.id, type })
      .orderBy([
        { column: 'created_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
    return rows.map(toAccessToken)
  }

  /**
   * Revokes one of the user's tokens by id. False when no such token of
   * that type belongs to the user.
   */
  async revoke(user: User | number, id: string | number, type: TokenType = 'access') {
    if (!/^[1-9]\d{0,18}$/.test(String(id)) || BigInt(id) > MAX_ID) return false
    const userId = typeof user === 'number' ? user : user.id
    const { rowCount } = await this.db.rawQuery(
      `delete from ${TABLE} where id = ? and tokenable_id = ? and type = ?`,
      [String(id), userId, type]
    )
    return (rowCount ?? 0) > 0
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
    const userId = typeof user === 'number' ? user : user.id
    const query = (options.trx ?? this.db).from(TABLE).where({ tokenable_id: userId, type })
    if (options.except !== undefined) query.whereNot('id', String(options.except))
    await query.delete()
  }

  /**
   * Deletes expired tokens, `batchSize` rows per statement, so a large
   * backlog never holds long locks. Returns how many went.
   */
  async prune(batchSize = 5000) {
    let total = 0
    while (true) {
      const { rowCount } = await this.db.rawQuery(
        `delete from ${TABLE} where id in (
           select id from ${TABLE} where expires_at < now() limit ?
         )`,
        [batchSize]
      )
      total += rowCount ?? 0
      if (!rowCount || rowCount < batchSize) return total
    }
  }

  /**
   * Secret, expiry and (for access tokens) idle-time check of a row of
   * `type`. No side effects.
   */
  #check(row: CheckedColumns, type: TokenType, secret: Secret<string>): boolean {
    const expected = hash('sha256', secret.release(), 'hex')
    if (!safeEqual(row.hash, expected)) return false
    const now = Date.now()
    if (row.expires_at !== null && row.expires_at.getTime() < now) return false
    const idle = this.settings.tokens.accessIdleTimeout
    if (type === 'access' && idle !== null) {
      const lastSeen = (row.last_used_at ?? row.created_at).getTime()
      if (now - lastSeen > idle * 1000) return false
    }
    return true
  }

  /**
   * `#check`, then a coalesced `last_used_at` write after success.
   */
  #accept(id: string, row: CheckedColumns, type: TokenType, secret: Secret<string>) {
    if (!this.#check(row, type, secret)) return false
    this.#touch(id, row.last_used_at)
    return true
  }

  /**
   * Records use at most once per token per interval, off the request path:
   * the write is not awaited and a failure only costs freshness.
   */
  #touch(id: string, lastUsedAt: Date | null) {
    const intervalMs = this.settings.tokens.lastUsedInterval * 1000
    const now = Date.now()
    const last = Math.max(lastUsedAt?.getTime() ?? 0, this.#lastTouched.get(id) ?? 0)
    if (now - last < intervalMs) return
    if (this.#lastTouched.size > 100_000) this.#lastTouched.clear()
    this.#lastTouched.set(id, now)
    this.#query(TOUCH, [id, this.settings.tokens.lastUsedInterval]).catch((error) =>
      this.logger.warn({ err: error.message }, 'could not record token use')
    )
  }
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const SEXTETS = new Int8Array(128).fill(-1)
for (let index = 0; index < 64; index++) SEXTETS[BASE64URL.charCodeAt(index)] = index

/**
 * Where `parse` decodes a token (at most 256 characters, so at most 192
 * bytes): the id at ID_AT (19 digits at most), the secret at SECRET_AT.
 * One buffer for the process is enough, since `parse` never yields.
 */
const ID_AT = 0
const SECRET_AT = 32
const SCRATCH = Buffer.alloc(SECRET_AT + 192)
const SEED = SCRATCH.subarray(SECRET_AT, SECRET_AT + SEED_LENGTH)
const MAX_ID_DIGITS = String(MAX_ID)

/**
 * Strict base64url decoding of `value.slice(start, end)` into SCRATCH at
 * `at`: the number of bytes, or -1 unless the slice is the canonical
 * unpadded encoding (no other character, no stray bits) of bytes below
 * 0x80. Every token this module issues encodes ASCII (digits, then a
 * random alphanumeric seed and its CRC32 in decimal).
 */
function decodeInto(value: string, start: number, end: number, at: number) {
  const length = end - start
  if (length === 0 || length % 4 === 1) return -1
  let written = 0
  let pending = 0
  let bits = 0
  for (let index = start; index < end; index++) {
    const code = value.charCodeAt(index)
    const sextet = code < 128 ? SEXTETS[code] : -1
    if (sextet === -1) return -1
    pending = (pending << 6) | sextet
    bits += 6
    if (bits >= 8) {
      bits -= 8
      const byte = pending >> bits
      if (byte > 0x7f) return -1
      SCRATCH[at + written++] = byte
      pending &= (1 << bits) - 1
    }
  }
  return pending === 0 ? written : -1
}

function isDigit(byte: number) {
  return byte >= 0x30 && byte <= 0x39
}

/**
 * Whether the `length` bytes at ID_AT are a token id: a decimal bigint
 * between 1 and 2^63 − 1 without leading zeros.
 */
function isTokenId(length: number) {
  if (length < 1 || length > MAX_ID_DIGITS.length || SCRATCH[ID_AT] === 0x30) return false
  for (let index = 0; index < length; index++) {
    if (!isDigit(SCRATCH[ID_AT + index])) return false
  }
  if (length < MAX_ID_DIGITS.length) return true
  // as many digits as the largest id: compare them in order
  for (let index = 0; index < length; index++) {
    const difference = SCRATCH[ID_AT + index] - MAX_ID_DIGITS.charCodeAt(index)
    if (difference !== 0) return difference < 0
  }
  return true
}

/**
 * Whether the `length` bytes after the seed are `crc` written in decimal
 * as `String(crc)` writes it (no sign, no leading zeros).
 */
function isChecksum(length: number, crc: number) {
  const at = SECRET_AT + SEED_LENGTH
  if (length > 10 || (length > 1 && SCRATCH[at] === 0x30)) return false
  let parsed = 0
  for (let index = 0; index < length; index++) {
    const byte = SCRATCH[at + index]
    if (!isDigit(byte)) return false
    parsed = parsed * 10 + (byte - 0x30)
  }
  return parsed === crc
}

/**
 * A `tokens` row as the auth package's AccessToken (without its value).
 */
function toAccessToken(row: TokenRow) {
  return new AccessToken({
    identifier: String(row.id),
    tokenableId: Number(row.tokenable_id),
    type: row.type,
    name: row.name,
    hash: row.hash,
    abilities: JSON.parse(row.abilities),
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    lastUsedAt: row.last_used_at ? new Date(row.last_used_at) : null,
    expiresAt: row.expires_at ? new Date(row.expires_at) : null,
  })
}
