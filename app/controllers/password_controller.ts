import { inject } from '@adonisjs/core'
import type { HttpContext } from '@adonisjs/core/http'
import Accounts from '#services/accounts'
import { countPasswordCheck } from '#services/rate_limits'
import { changePasswordValidator } from '#validators/profile_validator'

/**
 * Changing the password while signed in: needs the current one; every
 * other session is signed out, the presented one stays.
 */
@inject()
export default class PasswordController {
  constructor(private accounts: Accounts) {}

  async update({ auth, request }: HttpContext) {
    const user = auth.getUserOrFail()
    const input = await request.validateUsing(changePasswordValidator)
    await countPasswordCheck(user.email)
    await this.accounts.changePassword(user, input, user.currentAccessToken.identifier as string)
    return { data: { message: 'Your password was changed; other devices were signed out' } }
  }
}
