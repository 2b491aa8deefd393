import { inject } from '@adonisjs/core'
import type { HttpContext } from '@adonisjs/core/http'
import TokenModule from '#modules/token_module'
import User from '#models/user'

/**
 * Admin: signing a user out everywhere.
 */
@inject()
export default class UserSessionController {
  constructor(private tokens: TokenModule) {}

  async destroy({ params, response }: HttpContext) {
    const user = await User.findOrFail(params.id)
    await this.tokens.revokeAll(user, 'access')
    return response.noContent()
  }
}
