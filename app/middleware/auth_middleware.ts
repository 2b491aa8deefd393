import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import AuthorizationException from '#exceptions/authorization_exception'
import { UNAUTHORIZED_BODY } from '#exceptions/unauthorized'

/**
 * `auth()` lets through requests with a valid access token (401
 * otherwise); `auth({ roles: ['admin'] })` also requires one of the roles
 * (403 otherwise). Roles come from the user row loaded with the token on
 * this very request, so a demotion applies at once.
 *
 * A refused token is answered here, without an exception: bad tokens are
 * what a flood of junk requests carries, and building and rendering an
 * error for each costs more than checking them (PERFORMANCE.md P4).
 */
export default class AuthMiddleware {
  async handle(ctx: HttpContext, next: NextFn, options: { roles?: string[] } = {}) {
    if (!(await ctx.auth.checkUsing(['api']))) {
      ctx.response.status(401).send(UNAUTHORIZED_BODY)
      return
    }
    const required = options.roles ?? []
    if (required.length > 0) {
      const { roles } = ctx.auth.use('api').getProfileOrFail()
      if (!required.some((role) => roles.includes(role))) throw new AuthorizationException()
    }
    return next()
  }
}
