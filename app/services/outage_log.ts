import logger from '@adonisjs/core/services/logger'

/**
 * An error's name and code only: driver and SMTP messages can quote
 * addresses, and Redis URLs carry passwords.
 */
export function errorSummary(error: unknown) {
  return {
    name: (error as Error)?.name,
    code: (error as { code?: unknown })?.code,
  }
}

/**
 * The log of a dependency that is unreachable (the job queue's database,
 * the Redis limiter store): returns a function to call with each failure,
 * which logs `message` at level warn with the error's name and code, at
 * most once every `intervalMs` milliseconds, so that an outage is one line
 * per interval rather than one per reconnect attempt.
 */
export function throttledWarning(message: string, intervalMs = 10_000) {
  let lastWarning = 0
  return (error: unknown) => {
    const now = Date.now()
    if (now - lastWarning < intervalMs) return
    lastWarning = now
    logger.warn({ err: errorSummary(error) }, message)
  }
}
