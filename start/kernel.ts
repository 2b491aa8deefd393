/*
|--------------------------------------------------------------------------
| HTTP kernel
|--------------------------------------------------------------------------
*/

import router from '@adonisjs/core/services/router'
import server from '@adonisjs/core/services/server'

server.errorHandler(() => import('#exceptions/handler'))

/**
 * Every request, matched or not: response headers first, so errors and CORS
 * preflights carry them too.
 */
server.use([
  () => import('#middleware/response_defaults_middleware'),
  () => import('@adonisjs/cors/cors_middleware'),
])

/**
 * Every matched route: a non-JSON body is refused before it is read (415),
 * text that is not valid Unicode before validation (422).
 */
router.use([
  () => import('#middleware/json_body_middleware'),
  () => import('@adonisjs/core/bodyparser_middleware'),
  () => import('#middleware/well_formed_input_middleware'),
  () => import('@adonisjs/auth/initialize_auth_middleware'),
])

export const middleware = router.named({
  auth: () => import('#middleware/auth_middleware'),
})
