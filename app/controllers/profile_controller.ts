import type { HttpContext } from '@adonisjs/core/http'
import { serializeProfile } from '#models/user'
import { updateProfileValidator } from '#validators/profile_validator'

/**
 * The signed-in user's own account.
 */
export default class ProfileController {
  async show({ auth }: HttpContext) {
    return { data: serializeProfile(auth.use('api').getProfileOrFail()) }
  }

  async update({ auth, request }: HttpContext) {
    const user = auth.getUserOrFail()
    const { name } = await request.validateUsing(updateProfileValidator)
    user.name = name
    await user.save()
    return { data: user.serializeForApi() }
  }
}
