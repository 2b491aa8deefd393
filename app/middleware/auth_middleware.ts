import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import AuthorizationException from '#exceptions/authorization_exception'

/**
 * `auth()` lets through requests with a valid access token (401
 * otherwise); `auth({ roles: ['admin'] })` also requires one of the roles
 * (403 otherwise). Roles come from the user row loaded with the token on
 * this very request, so a demotion applies at once.
 */
export default class AuthMiddleware {
  async handle(ctx: HttpContext, next: NextFn, options: { roles?: string[] } = {}) {
    const user = await ctx.auth.authenticateUsing(['api'])
    if (options.roles && options.roles.length > 0 && !user.hasAnyRole(options.roles)) {
      throw new AuthorizationException()
    }
    return next()
  }
}
