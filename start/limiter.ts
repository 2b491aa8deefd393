/*
|--------------------------------------------------------------------------
| Limiter store warm-up
|--------------------------------------------------------------------------
|
| With LIMITER_STORE=redis, open the Redis connection at boot: commands
| fail fast while it is down (no offline queue), so a connection opened
| lazily by the first request would refuse that request.
|
*/

import app from '@adonisjs/core/services/app'
import limiter from '@adonisjs/limiter/services/main'
import redis from '@adonisjs/redis/services/main'

if (app.getEnvironment() === 'web' && limiter.config.default === 'redis') {
  redis.connection()
}
