import { inject } from '@adonisjs/core'
import type { HttpContext } from '@adonisjs/core/http'
import User from '#models/user'
import TokenModule from '#modules/token_module'
import { countSigninAttempt, forgiveSigninAttempt } from '#services/rate_limits'
import EmailNotVerifiedException from '#exceptions/email_not_verified_exception'
import { signinValidator } from '#validators/account_validator'

/**
 * Sign-in issues an access token; sign-out revokes the presented one.
 */
@inject()
export default class AccessTokenController {
  constructor(private tokens: TokenModule) {}

  async store({ request }: HttpContext) {
    const { email, password, deviceName } = await request.validateUsing(signinValidator)
    await countSigninAttempt(request.ip(), email)
    const user = await User.verifyCredentials(email, password)
    await forgiveSigninAttempt(request.ip(), email)
    if (!user.isVerified) throw new EmailNotVerifiedException()

    const token = await this.tokens.create(user, 'access', { name: deviceName })
    return {
      data: {
        type: 'bearer',
        token: token.value!.release(),
        expiresAt: token.expiresAt?.toISOString() ?? null,
        user: user.serializeForApi(),
      },
    }
  }

  async destroy({ auth, response }: HttpContext) {
    const user = auth.getUserOrFail()
    await this.tokens.revoke(user, String(user.currentAccessToken.identifier))
    return response.noContent()
  }
}
