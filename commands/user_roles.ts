import { BaseCommand, args, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { updateRolesValidator } from '#validators/admin_validator'
import { findUserForCommand, validateForCommand } from '#services/operator_input'

/**
 * Shows or replaces a user's roles from the command line, e.g. to restore
 * an admin: the same validation and the same last-admin rule as
 * `PUT /admin/users/:id/roles` (SECURITY.md A8).
 */
export default class UserRoles extends BaseCommand {
  static commandName = 'user:roles'
  static description =
    "Show a user's roles, or replace them with the --role flags (the last admin cannot be demoted)"
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Email address of the user' })
  declare email: string

  @flags.array({ description: 'Role the user will hold (repeat for several); replaces all roles' })
  declare role?: string[]

  async run() {
    const { default: ConflictException } = await import('#exceptions/conflict_exception')
    const { replaceRoles } = await import('#services/role_assignments')
    const user = await findUserForCommand(this, this.email)
    if (!user) return
    if (!this.role || this.role.length === 0) {
      this.logger.info(`${user.email} has roles: ${user.roles.join(', ') || '(none)'}`)
      return
    }
    const input = await validateForCommand(this, updateRolesValidator, { roles: this.role })
    if (!input) return
    try {
      const updated = await replaceRoles(user.id, input.roles)
      this.logger.success(`${updated.email} now has roles: ${updated.roles.join(', ') || '(none)'}`)
    } catch (error) {
      if (!(error instanceof ConflictException)) throw error
      this.logger.error(error.message)
      this.exitCode = 1
    }
  }
}
