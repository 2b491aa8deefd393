import type { Logger } from '@adonisjs/core/logger'
import type TokenStore from '#modules/tokens/token_store'

/**
 * Records that an access token was used — `last_used_at`, which sessions
 * lists show and the idle timeout reads — at most once per token per
 * interval, off the request path: the write is not awaited and a failure
 * only costs freshness (PERFORMANCE.md P3). What this process wrote
 * recently is remembered (bounded at 100,000 tokens), and the statement
 * itself skips a row another instance touched within the interval.
 */
export default class LastUsedRecorder {
  #lastTouched = new Map<string, number>()

  constructor(
    private store: TokenStore,
    private logger: Logger
  ) {}

  /**
   * Notes a successful use of token `id`, whose row said `lastUsedAt`.
   */
  record(id: string, lastUsedAt: Date | null, intervalSeconds: number) {
    const now = Date.now()
    const last = Math.max(lastUsedAt?.getTime() ?? 0, this.#lastTouched.get(id) ?? 0)
    if (now - last < intervalSeconds * 1000) return
    if (this.#lastTouched.size > 100_000) this.#lastTouched.clear()
    this.#lastTouched.set(id, now)
    this.store
      .touch(id, intervalSeconds)
      .catch((error) => this.logger.warn({ err: error.message }, 'could not record token use'))
  }
}
