import type { HashDriverContract } from '@adonisjs/core/types/hash'
import ServiceUnavailableException from '#exceptions/service_unavailable_exception'

/**
 * Wraps a hash driver so at most `concurrency` hashes run at once and at
 * most `queueLimit` wait. argon2 takes ~30 ms of a core per hash; without a
 * bound, a burst of sign-ins fills libuv's thread pool and every other
 * request (including signed-in traffic) waits behind it. Past the queue
 * limit the request is refused with 503 rather than piling up.
 */
export default class BoundedHasher implements HashDriverContract {
  #running = 0
  #waiting: Array<() => void> = []

  /**
   * Hash operations started since boot. Tests read it to prove that work
   * was (or was not) done; it is never a secret.
   */
  operations = 0

  /** Hashes running now. */
  get running() {
    return this.#running
  }

  /** Hashes waiting for a slot now. */
  get waiting() {
    return this.#waiting.length
  }

  constructor(
    private driver: HashDriverContract,
    private concurrency: number,
    private queueLimit: number
  ) {}

  isValidHash(value: string) {
    return this.driver.isValidHash(value)
  }

  needsReHash(hashedValue: string) {
    return this.driver.needsReHash(hashedValue)
  }

  make(value: string) {
    return this.#bounded(() => this.driver.make(value))
  }

  verify(hashedValue: string, plainValue: string) {
    return this.#bounded(() => this.driver.verify(hashedValue, plainValue))
  }

  async #bounded<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.concurrency) {
      if (this.#waiting.length >= this.queueLimit) {
        throw new ServiceUnavailableException('The service is busy, try again shortly', 1)
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve))
    } else {
      this.#running++
    }
    try {
      this.operations++
      return await work()
    } finally {
      const next = this.#waiting.shift()
      if (next) next()
      else this.#running--
    }
  }
}
