import type { HttpContext } from '@adonisjs/core/http'
import { replaceRoles } from '#services/role_assignments'
import { updateRolesValidator } from '#validators/admin_validator'

/**
 * Admin: replacing a user's roles. Roles are read on every request, so
 * the change applies to that user's very next one. Taking the admin role
 * from its last holder is refused with 409 (SECURITY.md A8).
 */
export default class UserRoleController {
  async update({ params, request }: HttpContext) {
    const { roles } = await request.validateUsing(updateRolesValidator)
    const user = await replaceRoles(params.id, roles)
    return { data: user.serializeForApi() }
  }
}
