import type { HttpContext } from '@adonisjs/core/http'
import type { NextFn } from '@adonisjs/core/types/http'
import lifecycle from '#services/lifecycle'

/**
 * What every response of the API carries, set before anything else runs so
 * that errors, CORS preflights and 404s carry it too:
 * - JSON, errors included, whatever the client's Accept header says (API.md);
 * - `Cache-Control: no-store`: responses carry tokens and users, which no
 *   browser or proxy cache may keep (SECURITY.md R8; RFC 6749 §5.1,
 *   OWASP ASVS 5.0 V14.3);
 * - `Vary: Origin`: the CORS headers depend on the request's Origin, so a
 *   shared cache must not serve one origin's answer to another (R6; Fetch
 *   standard, "CORS protocol and HTTP caches");
 * - `Connection: close` while the process drains before a stop, so
 *   keep-alive clients move to another instance. Checked once the request
 *   is handled, not when it arrives: a request in flight when the stop
 *   began would otherwise answer keep-alive, and the stop would wait for
 *   its client (or load balancer) to close the idle connection, past the
 *   deadline.
 */
export default class ResponseDefaultsMiddleware {
  async handle({ request, response }: HttpContext, next: NextFn) {
    request.request.headers.accept = 'application/json'
    response.header('Cache-Control', 'no-store')
    response.header('Vary', 'Origin')
    try {
      return await next()
    } finally {
      if (lifecycle.draining) response.header('Connection', 'close')
    }
  }
}
