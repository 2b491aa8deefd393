import { inject } from '@adonisjs/core'
import { errors as vineErrors } from '@vinejs/vine'
import type { HttpContext } from '@adonisjs/core/http'
import User from '#models/user'
import { UNAUTHORIZED_BODY } from '#middleware/auth_middleware'
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

  async update({ auth, request, response }: HttpContext) {
    const user = auth.getUserOrFail()
    const { currentPassword, password } = await request.validateUsing(changePasswordValidator)
    await countPasswordCheck(user.email)
    // the signed-in user is loaded without its password hash: read it now
    // (gone if the account was deleted since the token was checked)
    const stored = await User.find(user.id)
    if (!stored) return response.unauthorized(UNAUTHORIZED_BODY)
    if (!(await stored.verifyPassword(currentPassword))) {
      throw new vineErrors.E_VALIDATION_ERROR([
        {
          field: 'currentPassword',
          rule: 'currentPassword',
          message: 'The current password is not correct',
        },
      ])
    }
    await this.accounts.changePassword(user, password, user.currentAccessToken.identifier as string)
    return { data: { message: 'Your password was changed; other devices were signed out' } }
  }
}
