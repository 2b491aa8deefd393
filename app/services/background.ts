import logger from '@adonisjs/core/services/logger'
import { isUnavailableError } from '#exceptions/service_unavailable_exception'

/**
 * Work that follows a response instead of preceding it: issuing the token
 * of a link and queueing its mail. A request for a known address then does
 * exactly what one for an unknown address does before it answers, so
 * neither the answer nor its timing tells them apart (SECURITY.md A2).
 *
 * A task that meets an unavailable dependency (the database down, the pool
 * exhausted) is retried with backoff; one that still fails, or fails
 * otherwise, is logged — by its label, never with an address or a token —
 * and given up, like mail that cannot be delivered. A task is lost with
 * the process if it is killed (as queued mail is).
 */
export class Background {
  #pending = 0
  #waiters: Array<() => void> = []
  #paused: Array<() => void> | null = null

  constructor(private delaysMs: number[] = [500, 2000, 4000, 8000]) {}

  /** Tasks started and not yet finished or given up. */
  get pending() {
    return this.#pending
  }

  run(task: string, work: () => Promise<unknown>) {
    this.#pending++
    const start = () => setImmediate(() => this.#attempt(task, work, 0))
    if (this.#paused) this.#paused.push(start)
    else start()
  }

  /**
   * Holds new tasks back until the returned function is called: the
   * security tests use it to measure exactly what a request does before
   * its response.
   */
  pause() {
    this.#paused ??= []
    return () => {
      const held = this.#paused ?? []
      this.#paused = null
      for (const start of held) start()
    }
  }

  /**
   * Resolves once no task is running or waiting to be retried.
   */
  idle() {
    if (this.#pending === 0) return Promise.resolve()
    return new Promise<void>((resolve) => this.#waiters.push(resolve))
  }

  async #attempt(task: string, work: () => Promise<unknown>, attempt: number) {
    try {
      await work()
      this.#finish()
    } catch (error) {
      const context = {
        task,
        attempt: attempt + 1,
        err: { name: (error as Error)?.name, code: (error as { code?: unknown })?.code },
      }
      if (isUnavailableError(error) && attempt < this.delaysMs.length) {
        logger.warn(context, 'background task failed, will retry')
        setTimeout(() => this.#attempt(task, work, attempt + 1), this.delaysMs[attempt]).unref()
        return
      }
      logger.error(context, 'background task failed, given up')
      this.#finish()
    }
  }

  #finish() {
    this.#pending--
    if (this.#pending === 0) for (const wake of this.#waiters.splice(0)) wake()
  }
}

const background = new Background()
export default background
