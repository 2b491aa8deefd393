import logger from '@adonisjs/core/services/logger'
import settings from '#config/setting'
import { recordRequest } from '#services/metrics'

/**
 * One answered request as an operator sees it.
 *
 * `route` is the route pattern (`/api/v1/me/sessions/:id`), or a name in
 * parentheses for what never reached the router: `(unmatched)`,
 * `(malformed url)`, `(unparsed)` (Node's parser refused the request line
 * or headers: 400, 408, 431). `method` is `-` when it could not be read.
 * `seconds` runs from arrival to the end of the response, when known.
 */
export type AnsweredRequest = {
  method: string
  route: string
  status: number
  seconds?: number
  requestId?: string
}

/**
 * Counts an answered request in the metrics and writes its access-log line
 * (level info, when ACCESS_LOG is on): method, route, status, ms, request
 * id — never a URL, a query, a header or a body, so no token reaches it.
 */
export function recordAnsweredRequest(answer: AnsweredRequest) {
  const { method, route, status, seconds, requestId } = answer
  recordRequest(method, route, status, seconds)
  // the line's object is built only when it would be written (benchmarks log at warn)
  if (settings.observability.accessLog && logger.isLevelEnabled('info')) {
    const ms = seconds === undefined ? undefined : Math.round(seconds * 10_000) / 10
    logger.info({ method, route, status, ms, requestId }, 'request')
  }
}
