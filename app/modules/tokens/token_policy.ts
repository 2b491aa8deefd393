import { hash } from 'node:crypto'
import { safeEqual, type Secret } from '@adonisjs/core/helpers'
import type { Settings } from '#config/setting'
import type { CheckedColumns, TokenType } from '#modules/tokens/token_types'

/**
 * The session and lifetime rules, read from `config/setting.ts` at each
 * use so that changed settings apply at once: how long a token lives, how
 * many sessions a user may hold, and whether a presented secret opens a
 * stored row.
 */
export default class TokenPolicy {
  constructor(private settings: Settings) {}

  /**
   * Seconds a new token of `type` lives (null: access tokens configured
   * never to expire).
   */
  lifetimeOf(type: TokenType): number | null {
    const { accessTtl, verificationTtl, resetTtl } = this.settings.tokens
    return { access: accessTtl, email_verification: verificationTtl, password_reset: resetTtl }[
      type
    ]
  }

  /**
   * The session cap for a user with `roles`: the largest per-role
   * override among them, or the default.
   */
  sessionLimitFor(roles: string[]): number {
    const overrides = roles
      .map((role) => this.settings.sessions.limitByRole[role])
      .filter((limit): limit is number => limit !== undefined)
    return overrides.length > 0 ? Math.max(...overrides) : this.settings.sessions.limit
  }

  /**
   * Seconds between two `last_used_at` writes of one token.
   */
  get lastUsedInterval(): number {
    return this.settings.tokens.lastUsedInterval
  }

  /**
   * Whether `secret` opens `row` (SHA-256, compared in constant time:
   * SECURITY.md T2) and the row is neither expired nor, for an access
   * token, idle beyond the configured timeout. No side effects.
   */
  accepts(row: CheckedColumns, type: TokenType, secret: Secret<string>): boolean {
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
}
