import { BaseCommand, args, flags } from '@adonisjs/core/ace'
import type { CommandOptions } from '@adonisjs/core/types/ace'

/** pg-boss job ids are UUIDs. */
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Puts dead-lettered mail jobs back in the queue, with fresh retries: the
 * ids `jobs:failed` shows, or every one with `--all`. A running server takes
 * them up at its next poll. A job that issues a link issues a new one, which
 * supersedes any the job mailed before.
 */
export default class JobsRetry extends BaseCommand {
  static commandName = 'jobs:retry'
  static description = 'Send dead-lettered mail jobs again (ids from jobs:failed, or --all)'
  static options: CommandOptions = { startApp: true }

  @args.spread({ description: 'Ids of dead-lettered jobs', required: false })
  declare ids?: string[]

  @flags.boolean({ description: 'Retry every dead-lettered job' })
  declare all?: boolean

  async run() {
    const ids = this.ids ?? []
    if (ids.length === 0 && !this.all) {
      this.logger.error('Give the ids of the jobs to retry (see jobs:failed), or --all')
      this.exitCode = 1
      return
    }
    if (ids.length > 0 && this.all) {
      this.logger.error('Give ids or --all, not both')
      this.exitCode = 1
      return
    }
    const malformed = ids.filter((id) => !JOB_ID.test(id))
    if (malformed.length > 0) {
      this.logger.error(`Not job ids: ${malformed.join(', ')} (jobs:failed lists them)`)
      this.exitCode = 1
      return
    }
    const { default: background } = await import('#services/background')
    const moved = await background.retryDeadLetters(this.all ? undefined : ids)
    if (ids.length > 0 && moved < ids.length) {
      this.logger.warning(`${ids.length - moved} of the ids are not dead-lettered jobs`)
    }
    this.logger.success(`Queued ${moved} job(s) again`)
  }
}
