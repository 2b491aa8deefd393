import { Exception } from '@adonisjs/core/exceptions'

/**
 * A dependency (database, limiter store, hasher queue) cannot serve the
 * request now. Rendered as 503 with Retry-After; the client may retry.
 */
export default class ServiceUnavailableException extends Exception {
  static status = 503
  static code = 'E_SERVICE_UNAVAILABLE'

  constructor(
    message = 'The service is temporarily unavailable, try again shortly',
    public retryAfter = 5,
    options?: ErrorOptions
  ) {
    super(message, { status: 503, code: 'E_SERVICE_UNAVAILABLE', ...options })
  }
}

/**
 * PostgreSQL SQLSTATE classes and codes that mean "the database cannot
 * serve this now", not "this request is wrong": connection exceptions,
 * resource exhaustion, shutdowns, cancelled statements (timeouts),
 * serialization failures and deadlocks.
 */
const UNAVAILABLE_SQLSTATE = /^(08|53|57|58)|^40001$|^40P01$/
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
])

/**
 * True for errors that come from a dependency being down or slow: the
 * database, its pool, or the limiter store. Those answer 503 with
 * Retry-After instead of 500 (SECURITY.md F1, F3).
 */
export function isUnavailableError(error: any): boolean {
  if (!error || typeof error !== 'object') return false
  if (error instanceof ServiceUnavailableException) return true
  const name = String(error.name ?? '')
  const message = String(error.message ?? '')
  const code = typeof error.code === 'string' ? error.code : ''
  if (
    name === 'KnexTimeoutError' ||
    name === 'TimeoutError' ||
    name === 'MaxRetriesPerRequestError'
  )
    return true
  if (UNAVAILABLE_SQLSTATE.test(code) && typeof error.severity === 'string') return true
  if (UNAVAILABLE_ERRNO.has(code)) return true
  if (
    /Connection terminated|connection timeout|Query read timeout|Transaction query already complete|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is closed|enableOfflineQueue|Stream isn't writeable|Command timed out/i.test(
      message
    )
  ) {
    return true
  }
  return error.cause ? isUnavailableError(error.cause) : false
}
