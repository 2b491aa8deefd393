import { BaseCommand, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'

/**
 * Lists the dead-lettered mail jobs: those whose retries were used up (the
 * SMTP server or the database down for longer than the backoff). Shows each
 * job's id, kind, when it was dead-lettered and its recipient's domain —
 * never an address, a token or a link. `jobs:retry` sends them again.
 */
export default class JobsFailed extends BaseCommand {
  static commandName = 'jobs:failed'
  static description = 'List mail jobs that failed after every retry (dead letters)'
  static options: CommandOptions = { startApp: true }

  @flags.number({ description: 'Most jobs to list, oldest first', default: 1000 })
  declare limit: number

  async run() {
    const { default: background } = await import('#services/background')
    const dead = await background.deadLetters(this.limit)
    if (dead.length === 0) {
      this.logger.success('No dead-lettered jobs')
      return
    }
    const table = this.ui.table()
    table.head(['id', 'kind', 'dead-lettered at', 'recipient domain'])
    for (const job of dead) {
      table.row([job.id, job.kind, job.failedAt.toISOString(), job.recipientDomain ?? '-'])
    }
    table.render()
    this.logger.info(`${dead.length} dead-lettered job(s); "jobs:retry --all" sends them again`)
  }
}
