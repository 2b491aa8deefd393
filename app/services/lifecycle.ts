import { setTimeout as sleep } from 'node:timers/promises'
import type { ApplicationService } from '@adonisjs/core/types'
import logger from '@adonisjs/core/services/logger'
import settings from '#config/setting'

/**
 * Where this process is in its life: serving, or draining before a stop.
 * Readiness reads it (503 while draining) and responses say
 * `Connection: close` meanwhile, so keep-alive clients reconnect to
 * another instance.
 */
class Lifecycle {
  #draining = false

  get draining() {
    return this.#draining
  }

  /**
   * The graceful stop, for SIGTERM and SIGINT (SECURITY.md F6): readiness
   * turns 503 at once; requests are still served for
   * `settings.shutdown.drainWindow` seconds, so a load balancer polling
   * readiness stops sending; then the app terminates (the HTTP server
   * stops accepting and waits for the requests in flight, providers close
   * the database pool). If that is not done `settings.shutdown.deadline`
   * seconds after the signal, the process exits with code 1. A second
   * signal changes nothing: the first stop is under way.
   *
   * Once the app has terminated, the process exits: everything it owns is
   * closed or released by then, and a socket it no longer owns must not
   * keep it alive — an SMTP server that stopped answering leaves the mail
   * transport's half-closed connection open until the peer acts, which
   * would hold the stop up until the deadline and an exit code of 1.
   */
  async stop(app: ApplicationService) {
    if (this.#draining) return
    this.#draining = true
    const { drainWindow, deadline } = settings.shutdown
    setTimeout(() => {
      logger.error({ deadline }, 'shutdown deadline passed, exiting')
      process.exit(1)
    }, deadline * 1000).unref()
    logger.info({ drainWindow, deadline }, 'draining before shutdown')
    await sleep(drainWindow * 1000)
    await app.terminate()
    process.exit(process.exitCode ?? 0)
  }
}

const lifecycle = new Lifecycle()
export default lifecycle
