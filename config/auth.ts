import { defineConfig } from '@adonisjs/auth'
import { AccessTokensGuard } from '@adonisjs/auth/access_tokens'
import type { InferAuthEvents, Authenticators } from '@adonisjs/auth/types'
import TokenModule from '#modules/token_module'
import AccessTokenUserProvider from '#services/access_token_user_provider'

/**
 * One guard, `api`: the stock access-tokens guard (Bearer parsing, events,
 * `auth.user`) over a user provider that verifies through the TokenModule.
 */
const authConfig = defineConfig({
  default: 'api',
  guards: {
    api: {
      async resolver(name, app) {
        const emitter = await app.container.make('emitter')
        const tokens = await app.container.make(TokenModule)
        return (ctx) =>
          new AccessTokensGuard(
            name,
            ctx,
            emitter as any,
            new AccessTokenUserProvider(tokens, authorizationLines(ctx.request.request.rawHeaders))
          )
      },
    },
  },
})

/**
 * Every Authorization line of a request, as sent.
 */
function authorizationLines(rawHeaders: string[]) {
  const lines: string[] = []
  for (let index = 0; index < rawHeaders.length; index += 2) {
    if (rawHeaders[index].toLowerCase() === 'authorization') lines.push(rawHeaders[index + 1])
  }
  return lines
}

export default authConfig

declare module '@adonisjs/auth/types' {
  export interface Authenticators extends InferAuthenticators<typeof authConfig> {}
}
declare module '@adonisjs/core/types' {
  interface EventsList extends InferAuthEvents<Authenticators> {}
}
