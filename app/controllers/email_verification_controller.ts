import { inject } from '@adonisjs/core'
import type { HttpContext } from '@adonisjs/core/http'
import Accounts from '#services/accounts'
import { countMailRequest, countTokenAttempt } from '#services/rate_limits'
import { emailOnlyValidator, verifyEmailValidator } from '#validators/account_validator'

/**
 * Confirming an address with the token from its link, and sending a new link.
 */
@inject()
export default class EmailVerificationController {
  constructor(private accounts: Accounts) {}

  async store({ request }: HttpContext) {
    const { token } = await request.validateUsing(verifyEmailValidator)
    await countTokenAttempt(request.ip())
    const user = await this.accounts.confirmEmail(token)
    return { data: { user: user.serializeForApi() } }
  }

  /**
   * Same answer whether the address is unknown, unverified or verified.
   */
  async resend({ request, response }: HttpContext) {
    const { email } = await request.validateUsing(emailOnlyValidator)
    await countMailRequest(request.ip(), email)
    await this.accounts.resendVerificationLink(email)
    return response.accepted({
      data: { message: 'If the address needs confirming, a new link is on its way' },
    })
  }
}
