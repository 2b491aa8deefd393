import { inject } from '@adonisjs/core'
import type { HttpContext } from '@adonisjs/core/http'
import Accounts from '#services/accounts'
import { serializeProfile } from '#models/user'
import { updateProfileValidator } from '#validators/profile_validator'

/**
 * The signed-in user's own account.
 */
@inject()
export default class ProfileController {
  constructor(private accounts: Accounts) {}

  async show({ auth }: HttpContext) {
    return { data: serializeProfile(auth.use('api').getProfileOrFail()) }
  }

  async update({ auth, request }: HttpContext) {
    const input = await request.validateUsing(updateProfileValidator)
    const user = await this.accounts.updateProfile(auth.getUserOrFail(), input)
    return { data: user.serializeForApi() }
  }
}
