import { DateTime } from 'luxon'
import { BaseCommand, args } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'
import { findUserForCommand } from '#services/operator_input'

/**
 * Marks a user's email address as confirmed, for support staff who have
 * checked the mailbox belongs to the person another way (the link never
 * arrived, say). Pending verification links stop working: there is
 * nothing left for them to confirm. The password stays as it is, so check
 * who set it before vouching for an account someone else may have
 * registered (SECURITY.md A7).
 */
export default class UserVerify extends BaseCommand {
  static commandName = 'user:verify'
  static description = "Mark a user's email address as confirmed"
  static options: CommandOptions = { startApp: true }

  @args.string({ description: 'Email address of the user' })
  declare email: string

  async run() {
    const { default: TokenModule } = await import('#modules/token_module')
    const { inTransaction } = await import('#services/transactions')
    const user = await findUserForCommand(this, this.email)
    if (!user) return
    if (user.emailVerifiedAt) {
      this.logger.info(`${user.email} was already confirmed on ${user.emailVerifiedAt.toISO()}`)
      return
    }
    const tokens = await this.app.container.make(TokenModule)
    await inTransaction(async (trx) => {
      user.useTransaction(trx)
      user.emailVerifiedAt = DateTime.utc()
      await user.save()
      await tokens.revokeAll(user, 'email_verification', { trx })
    })
    this.logger.success(`${user.email} is now confirmed`)
  }
}
