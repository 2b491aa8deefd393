import { AccessToken } from '@adonisjs/auth/access_tokens'
import User, { type Profile } from '#models/user'
import type { TokenRow } from '#modules/tokens/token_types'

/**
 * A row of the authentication statement (`TokenStore#findForAuthentication`):
 * the token's columns but its id and type (both in the WHERE clause), and
 * the user's, prefixed `u_`.
 */
export type AuthenticationRow = Omit<TokenRow, 'id' | 'type' | 'claim'> & {
  u_email: string
  u_name: string | null
  u_roles: string[]
  u_email_verified_at: Date | null
  u_created_at: Date
}

/**
 * A verified access token and its user, as one row returned them.
 * `profile` is what `GET /me` answers and what role checks read; the Lucid
 * `User` and the `AccessToken` are built from the row on first use, which
 * a plain signed-in read never makes (building a model costs more than
 * the rest of the check: PERFORMANCE.md P1).
 */
export class Authentication {
  readonly profile: Profile
  #row: AuthenticationRow
  #user?: User
  #token?: AccessToken

  constructor(
    readonly tokenId: string,
    row: AuthenticationRow
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
 * A `tokens` row as the auth package's AccessToken (without its value).
 */
export function toAccessToken(row: TokenRow) {
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
