import type { ApiClient } from '@japa/api-client'
import User from '#models/user'
import type { TokenType } from '#modules/token_module'
import { tokenModule } from '#tests/helpers/accounts'

/**
 * The plain value of a token of `type` for `user`, issued by the service's
 * own TokenModule.
 */
export async function issuedValue(user: User, type: TokenType) {
  const tokens = await tokenModule()
  const token = await tokens.create(user, type)
  return token.value!.release()
}

/**
 * The row id of a token of `type` for `user`, issued by the TokenModule.
 */
export async function issuedId(user: User, type: TokenType) {
  const tokens = await tokenModule()
  const token = await tokens.create(user, type)
  return Number(token.identifier)
}

/**
 * The password hash stored for `user` right now.
 */
export async function storedPasswordHash(user: User) {
  const fresh = await User.findOrFail(user.id)
  return fresh.password
}

/**
 * The status `GET url` answers with `token` (default: /api/v1/me).
 */
export async function statusWith(client: ApiClient, token: string, url = '/api/v1/me') {
  const response = await client.get(url).bearerToken(token)
  return response.status()
}
