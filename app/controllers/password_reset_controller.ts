import { inject } from '@adonisjs/core'
import type { HttpContext } from '@adonisjs/core/http'
import Accounts from '#services/accounts'
import { countMailRequest, countTokenAttempt } from '#services/rate_limits'
import { emailOnlyValidator, resetPasswordValidator } from '#validators/account_validator'

/**
 * Forgotten passwords: asking for a reset link, and using it.
 */
@inject()
export default class PasswordResetController {
  constructor(private accounts: Accounts) {}

  /**
   * Same answer whether or not the address has an account.
   */
  async create({ request, response }: HttpContext) {
    const { email } = await request.validateUsing(emailOnlyValidator)
    await countMailRequest(request.ip(), email)
    await this.accounts.requestPasswordReset(email)
    return response.accepted({
      data: { message: 'If the address has an account, a reset link is on its way' },
    })
  }

  async store({ request }: HttpContext) {
    const { token, password } = await request.validateUsing(resetPasswordValidator)
    await countTokenAttempt(request.ip())
    await this.accounts.resetPassword(token, password)
    return { data: { message: 'Your password was changed; sign in with the new one' } }
  }
}
