import { BaseCommand, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'

/**
 * Deletes expired tokens in batches. Expired tokens are already refused;
 * pruning only keeps the table small. Run it from cron (daily is plenty).
 */
export default class TokensPrune extends BaseCommand {
  static commandName = 'tokens:prune'
  static description = 'Delete expired tokens in batches'
  static options: CommandOptions = { startApp: true }

  @flags.number({ description: 'Rows deleted per statement', default: 5000 })
  declare batchSize: number

  async run() {
    const { default: TokenModule } = await import('#modules/token_module')
    const tokens = await this.app.container.make(TokenModule)
    const deleted = await tokens.prune(this.batchSize)
    this.logger.success(`Deleted ${deleted} expired token(s)`)
  }
}
