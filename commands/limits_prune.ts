import { BaseCommand, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'

/**
 * Deletes expired rate-limit counters from the database store in batches.
 * Expired counters no longer limit anyone; pruning only keeps the table
 * from growing by a row per address and email ever seen. Run it from cron
 * next to `tokens:prune` (daily is plenty). With Redis or the memory store
 * counters expire by themselves and there is nothing to do.
 */
export default class LimitsPrune extends BaseCommand {
  static commandName = 'limits:prune'
  static description = 'Delete expired rate-limit counters in batches (database store)'
  static options: CommandOptions = { startApp: true }

  @flags.number({ description: 'Rows deleted per statement', default: 5000 })
  declare batchSize: number

  async run() {
    const { pruneExpiredLimits } = await import('#services/rate_limits')
    const deleted = await pruneExpiredLimits(this.batchSize)
    this.logger.success(`Deleted ${deleted} expired rate-limit counter(s)`)
  }
}
