/*
|--------------------------------------------------------------------------
| What operators see of each request
|--------------------------------------------------------------------------
|
| The framework emits `http:request_completed` (with the context and the
| duration) once a response has been sent, and measures only when someone
| listens. Each request becomes one access-log line and two metric updates
| (app/services/request_log.ts). The log line names the route pattern,
| never the URL, so no token, query string or id reaches it. Requests
| refused below the framework are recorded by app/exceptions/transport_errors.ts.
|
*/

import emitter from '@adonisjs/core/services/emitter'
import { recordAnsweredRequest } from '#services/request_log'

emitter.on('http:request_completed', ({ ctx, duration }) => {
  recordAnsweredRequest({
    method: ctx.request.method(),
    route: ctx.route?.pattern ?? '(unmatched)',
    status: ctx.response.getStatus(),
    seconds: duration[0] + duration[1] / 1e9,
    requestId: ctx.request.id(),
  })
})
