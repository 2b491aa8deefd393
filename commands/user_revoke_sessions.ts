import { BaseCommand, args } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { findUserForCommand } from '#services/operator_input'

/**
 * Signs a user out everywhere (every access token revoked), as
 * `DELETE /admin/users/:id/sessions` does: for a lost device or a
 * suspected theft when no admin can sign in.
 */
export default class UserRevokeSessions extends BaseCommand {
  static commandName = 'user:revoke-sessions'
  static description = 'Sign a user out everywhere (revoke every access token)'
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Email address of the user' })
  declare email: string

  async run() {
    const { default: TokenModule } = await import('#modules/token_module')
    const user = await findUserForCommand(this, this.email)
    if (!user) return
    const tokens = await this.app.container.make(TokenModule)
    await tokens.revokeAll(user, 'access')
    this.logger.success(`Signed ${user.email} out everywhere`)
  }
}
