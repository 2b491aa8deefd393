import type { ApplicationService } from '@adonisjs/core/types'
import TokenModule from '#modules/token_module'

/**
 * Registers the TokenModule as a container singleton, so controllers,
 * the auth guard and commands share one instance (and its coalescing of
 * `last_used_at` writes).
 */
export default class TokenProvider {
  constructor(protected app: ApplicationService) {}

  register() {
    this.app.container.singleton(TokenModule, async (resolver) => {
      const db = await resolver.make('lucid.db')
      const logger = await resolver.make('logger')
      const { default: settings } = await import('#config/setting')
      return new TokenModule(db, settings, logger)
    })
    this.app.container.alias('tokens', TokenModule)
  }
}

declare module '@adonisjs/core/types' {
  interface ContainerBindings {
    tokens: TokenModule
  }
}
