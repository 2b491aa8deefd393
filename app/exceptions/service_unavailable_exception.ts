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
