import { inject } from '@adonisjs/core'
import type { HttpContext } from '@adonisjs/core/http'
import Accounts from '#services/accounts'
import { countMailRequest } from '#services/rate_limits'
import { signupValidator } from '#validators/account_validator'

/**
 * Sign-up. The answer is the same whether or not the address already has
 * an account; only the mailbox learns which.
 */
@inject()
export default class NewAccountController {
  constructor(private accounts: Accounts) {}

  async store({ request, response }: HttpContext) {
    const input = await request.validateUsing(signupValidator)
    await countMailRequest(request.ip(), input.email)
    await this.accounts.register(input)
    return response.accepted({
      data: { message: 'Check your inbox: we sent a link to confirm your email address' },
    })
  }
}
