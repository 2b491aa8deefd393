import { symbols } from '@adonisjs/auth'
import type { AccessToken } from '@adonisjs/auth/access_tokens'
import type { AuthClientResponse, GuardContract } from '@adonisjs/auth/types'
import type { HttpContext } from '@adonisjs/core/http'
import type TokenModule from '#modules/token_module'
import type { Authentication } from '#modules/token_module'
import type { Profile } from '#models/user'
import { unauthorizedAccess } from '#exceptions/unauthorized'
import type User from '#models/user'

export type AuthenticatedUser = User & { currentAccessToken: AccessToken }

/**
 * The `api` guard: a Bearer access token checked by the TokenModule, which
 * refuses a malformed or bad-checksum token before any query and loads
 * token and user in one. It does what the stock `AccessTokensGuard` does
 * for this app (`auth.user`, `user.currentAccessToken`, the
 * `E_UNAUTHORIZED_ACCESS` error) without what it costs on every request:
 * a user provider round trip, three emitted events and an exception per
 * refusal (`check()` refuses by returning false). PERFORMANCE.md P1, P4.
 */
export default class TokenGuard implements GuardContract<AuthenticatedUser> {
  declare [symbols.GUARD_KNOWN_EVENTS]: {}

  readonly driverName = 'tessera_token'
  isAuthenticated = false
  authenticationAttempted = false

  constructor(
    private ctx: HttpContext,
    private tokens: TokenModule
  ) {}

  #authentication?: Authentication

  /**
   * The signed-in user as a Lucid model, built on first use (see
   * `Authentication`), with the token it signed in with.
   */
  get user(): AuthenticatedUser | undefined {
    if (!this.#authentication) return undefined
    const { user, token } = this.#authentication
    return Object.assign(user, { currentAccessToken: token })
  }

  /**
   * Verifies the request's Bearer token once per request; false when it is
   * missing, malformed, unknown, expired or idle.
   */
  async check(): Promise<boolean> {
    if (this.authenticationAttempted) return this.isAuthenticated
    this.authenticationAttempted = true
    const value = bearerToken(this.ctx.request.request.rawHeaders)
    if (value === undefined) return false
    const authentication = await this.tokens.authenticate(value)
    if (!authentication) return false
    this.#authentication = authentication
    this.isAuthenticated = true
    return true
  }

  async authenticate(): Promise<AuthenticatedUser> {
    if (!(await this.check())) throw this.#unauthorized()
    return this.user!
  }

  getUserOrFail(): AuthenticatedUser {
    const user = this.user
    if (!user) throw this.#unauthorized()
    return user
  }

  /**
   * What responses show of the signed-in user and its roles, read from the
   * token's row without building the model: the user as authenticated,
   * not as a controller may have changed it since (use the model for that).
   */
  getProfileOrFail(): Profile {
    if (!this.#authentication) throw this.#unauthorized()
    return this.#authentication.profile
  }

  /**
   * For Japa's API client (`loginAs`): a real access token for the user.
   */
  async authenticateAsClient(user: User): Promise<AuthClientResponse> {
    const token = await this.tokens.create(user, 'access')
    return { headers: { authorization: `Bearer ${token.value!.release()}` } }
  }

  #unauthorized() {
    return unauthorizedAccess()
  }
}

/**
 * The token of the request's Authorization header, read from the raw
 * header lines because Node keeps only the first of repeated ones. The
 * whole shape is checked — exactly one line, `Bearer` (any case), one
 * space, one token and nothing after it — where the stock guard takes the
 * second space-separated word and ignores the rest (SECURITY.md R4).
 */
export function bearerToken(rawHeaders: string[]): string | undefined {
  let value: string | undefined
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index]
    if (name.length !== 13 || name.toLowerCase() !== 'authorization') continue
    if (value !== undefined) return undefined
    value = rawHeaders[index + 1]
  }
  if (value === undefined || !BEARER.test(value)) return undefined
  return value.slice(7)
}

const BEARER = /^bearer [^\s]+$/i
