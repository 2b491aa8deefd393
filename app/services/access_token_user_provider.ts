import { symbols } from '@adonisjs/auth'
import type { Secret } from '@adonisjs/core/helpers'
import type { AccessToken } from '@adonisjs/auth/access_tokens'
import type {
  AccessTokensGuardUser,
  AccessTokensUserProviderContract,
} from '@adonisjs/auth/types/access_tokens'
import type TokenModule from '#modules/token_module'
import type User from '#models/user'

/**
 * The user provider behind the `api` guard, one per request. It verifies
 * the Bearer token through the TokenModule, which loads token and user in
 * a single query, and hands the guard that same user in `findById` instead
 * of querying again (the stock provider makes three round trips).
 */
export default class AccessTokenUserProvider implements AccessTokensUserProviderContract<User> {
  declare [symbols.PROVIDER_REAL_USER]: User
  #user?: User

  /**
   * @param authorization the request's Authorization header lines (raw:
   * Node keeps only the first of repeated lines). The stock guard takes
   * the second space-separated word and ignores the rest, so the whole
   * shape is checked here — one line, one token after the scheme
   * (SECURITY.md R4).
   */
  constructor(
    private tokens: TokenModule,
    private authorization: string[]
  ) {}

  async createUserForGuard(user: User): Promise<AccessTokensGuardUser<User>> {
    return {
      getId: () => user.id,
      getOriginal: () => user,
    }
  }

  async verifyToken(tokenValue: Secret<string>): Promise<AccessToken | null> {
    const [header, ...repeated] = this.authorization
    if (repeated.length > 0 || !header || !/^bearer [^\s]+$/i.test(header)) return null
    const result = await this.tokens.authenticate(tokenValue.release())
    if (!result) return null
    this.#user = result.user
    return result.token
  }

  async findById(identifier: string | number | BigInt) {
    if (!this.#user || String(this.#user.id) !== String(identifier)) return null
    return this.createUserForGuard(this.#user)
  }

  async createToken(user: User, _abilities?: string[], options?: { name?: string }) {
    return this.tokens.create(user, 'access', { name: options?.name })
  }

  async invalidateToken(tokenValue: Secret<string>) {
    const token = await this.tokens.verify(tokenValue.release(), 'access')
    if (!token) return false
    return this.tokens.revoke(Number(token.tokenableId), String(token.identifier))
  }
}
