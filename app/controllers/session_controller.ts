import { inject } from '@adonisjs/core'
import type { HttpContext } from '@adonisjs/core/http'
import TokenModule from '#modules/token_module'
import NotFoundException from '#exceptions/not_found_exception'

/**
 * The signed-in user's sessions, i.e. their access tokens.
 */
@inject()
export default class SessionController {
  constructor(private tokens: TokenModule) {}

  async index({ auth }: HttpContext) {
    const user = auth.getUserOrFail()
    const current = String(user.currentAccessToken.identifier)
    const sessions = await this.tokens.list(user, 'access')
    return {
      data: sessions.map((token) => ({
        id: Number(token.identifier),
        name: token.name,
        createdAt: token.createdAt.toISOString(),
        lastUsedAt: token.lastUsedAt?.toISOString() ?? null,
        expiresAt: token.expiresAt?.toISOString() ?? null,
        current: String(token.identifier) === current,
      })),
    }
  }

  async destroy({ auth, params, response }: HttpContext) {
    const revoked = await this.tokens.revoke(auth.getUserOrFail(), params.id)
    if (!revoked) throw new NotFoundException()
    return response.noContent()
  }

  /**
   * Signs out every other device.
   */
  async destroyOthers({ auth, response }: HttpContext) {
    const user = auth.getUserOrFail()
    await this.tokens.revokeAll(user, 'access', {
      except: String(user.currentAccessToken.identifier),
    })
    return response.noContent()
  }
}
