import { DbAccessTokensProvider } from '@adonisjs/auth/access_tokens'
import User from '#models/user'
import { SEED_LENGTH, TOKEN_PREFIXES } from '#modules/tokens/token_types'

/**
 * @adonisjs/auth's own access-token provider over Tessera's `tokens`
 * table: what the benchmark measures `/me` against (P2), and what the
 * token format's compatibility test issues tokens with. Every query it
 * makes filters by `type`, so it reads only access tokens.
 */
export const stockAccessTokens = DbAccessTokensProvider.forModel(User, {
  table: 'tokens',
  type: 'access',
  prefix: TOKEN_PREFIXES.access,
  tokenSecretLength: SEED_LENGTH,
})
