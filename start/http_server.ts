import { createServer, type RequestListener } from 'node:http'
import app from '@adonisjs/core/services/app'
import type { Settings } from '#config/setting'
import { answerClientError } from '#exceptions/transport_errors'

/**
 * The Node HTTP server every entry point (bin/server.ts, the tests, the
 * benchmark) gives the framework's request handler. Called once the app
 * has booted, so the settings are read from the app's config:
 * - what fails before the framework (unparsable or oversized headers) is
 *   answered in the API's JSON error shape (`answerClientError`, R7);
 * - idle keep-alive connections are kept `settings.http.keepAliveTimeout`
 *   seconds, which must exceed a load balancer's own idle timeout, or the
 *   balancer reuses a connection the server is closing and answers 502;
 *   headers must arrive within a second more (Node's rule:
 *   headersTimeout > keepAliveTimeout);
 * - an `X-Request-Id` is kept only from a proxy in TRUSTED_PROXIES, like
 *   X-Forwarded-For: the framework would take any client's as the request
 *   id, which the access log and every error line repeat (up to Node's
 *   16 KB of header, whatever the client chose to put there).
 */
export function createHttpServer(handler: RequestListener) {
  const settings = app.config.get<Settings>('setting')
  // config/app.ts's compiled TRUSTED_PROXIES, the one X-Forwarded-For is read with
  const { trustProxy: trusted } = app.config.get<{
    trustProxy: (address: string, hop: number) => boolean
  }>('app.http')
  const server = createServer((request, response) => {
    if (
      request.headers['x-request-id'] !== undefined &&
      !trusted(request.socket.remoteAddress ?? '', 0)
    ) {
      delete request.headers['x-request-id']
    }
    return handler(request, response)
  })
  server.keepAliveTimeout = settings.http.keepAliveTimeout * 1000
  server.headersTimeout = server.keepAliveTimeout + 1000
  server.on('clientError', answerClientError)
  return server
}
