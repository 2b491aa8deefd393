/*
|--------------------------------------------------------------------------
| What operators see of each request
|--------------------------------------------------------------------------
|
| The framework emits `http:request_completed` (with the context and the
| duration) once a response has been sent, and measures only when someone
| listens. Each request becomes one access-log line and two metric updates
| (app/services/metrics.ts). The log line names the route pattern, never
| the URL, so no token, query string or id reaches it.
|
*/

import emitter from '@adonisjs/core/services/emitter'
import logger from '@adonisjs/core/services/logger'
import settings from '#config/setting'
import { recordRequest } from '#services/metrics'

emitter.on('http:request_completed', ({ ctx, duration }) => {
  const seconds = duration[0] + duration[1] / 1e9
  const method = ctx.request.method()
  const route = ctx.route?.pattern ?? '(unmatched)'
  const status = ctx.response.getStatus()
  recordRequest(method, route, status, seconds)
  // the line's object is built only when it would be written (benchmarks log at warn)
  if (settings.observability.accessLog && logger.isLevelEnabled('info')) {
    logger.info(
      { method, route, status, ms: Math.round(seconds * 10_000) / 10, requestId: ctx.request.id() },
      'request'
    )
  }
})
