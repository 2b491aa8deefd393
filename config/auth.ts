import { defineConfig } from '@adonisjs/auth'
import type { Authenticators, InferAuthEvents } from '@adonisjs/auth/types'
import TokenModule from '#modules/token_module'
import TokenGuard from '#guards/token_guard'

/**
 * One guard, `api`: Bearer access tokens verified by the TokenModule
 * (app/guards/token_guard.ts).
 */
const authConfig = defineConfig({
  default: 'api',
  guards: {
    api: {
      async resolver(_name, app) {
        const tokens = await app.container.make(TokenModule)
        return (ctx) => new TokenGuard(ctx, tokens)
      },
    },
  },
})

export default authConfig

declare module '@adonisjs/auth/types' {
  export interface Authenticators extends InferAuthenticators<typeof authConfig> {}
}
declare module '@adonisjs/core/types' {
  interface EventsList extends InferAuthEvents<Authenticators> {}
}
