import type { ApplicationService } from '@adonisjs/core/types'

/**
 * Runs the job queue's worker (app/services/background.ts) in the processes
 * that should take jobs: the web server, and the test runner (whose tests
 * follow mailed links). One-off ace commands and the REPL enqueue or
 * inspect jobs but never take one.
 *
 * On shutdown the worker stops taking jobs, finishes or releases the ones
 * in hand (`background.stop()`), and closes the queue's connections.
 */
export default class BackgroundProvider {
  constructor(protected app: ApplicationService) {}

  async ready() {
    if (!['web', 'test'].includes(this.app.getEnvironment())) return
    const { default: background } = await import('#services/background')
    const { default: AccountMail } = await import('#services/account_mail')
    const logger = await this.app.container.make('logger')
    const accountMail = await this.app.container.make(AccountMail)
    // connected before the first request (whose statements the A2 tests
    // count); if the database is down, the worker keeps trying
    await background.start().catch((error) => {
      logger.warn(
        { err: { name: error?.name, code: error?.code } },
        'job queue unavailable at boot'
      )
    })
    background.startWorkers((job) => accountMail.deliver(job))
  }

  async shutdown() {
    const { default: background } = await import('#services/background')
    await background.stop(3000)
  }
}
