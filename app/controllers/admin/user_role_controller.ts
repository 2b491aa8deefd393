import type { HttpContext } from '@adonisjs/core/http'
import User from '#models/user'
import { updateRolesValidator } from '#validators/admin_validator'

/**
 * Admin: replacing a user's roles. Roles are read on every request, so
 * the change applies to that user's very next one.
 */
export default class UserRoleController {
  async update({ params, request }: HttpContext) {
    const { roles } = await request.validateUsing(updateRolesValidator)
    const user = await User.findOrFail(params.id)
    user.roles = [...new Set(roles)]
    await user.save()
    return { data: user.serializeForApi() }
  }
}
