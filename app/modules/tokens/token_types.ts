import type { AccessToken } from '@adonisjs/auth/access_tokens'

/**
 * The kinds of token the service issues, all in the one `tokens` table
 * (its `type` column, a CHECK constraint).
 */
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

/**
 * Random characters in a token's secret, before its CRC32.
 */
export const SEED_LENGTH = 40

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
 * A row of the `tokens` table as `pg` returns it.
 */
export type TokenRow = {
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
 * The columns a token check reads: secret hash, expiry and idle time.
 */
export type CheckedColumns = Pick<TokenRow, 'hash' | 'created_at' | 'last_used_at' | 'expires_at'>
