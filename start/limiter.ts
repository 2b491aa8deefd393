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
import logger from '@adonisjs/core/services/logger'
import limiter from '@adonisjs/limiter/services/main'
import redis from '@adonisjs/redis/services/main'

/**
 * A Redis that is down is an outage of the counted routes (they fail
 * closed, readiness says `degraded`), not of the process: the framework's
 * own reporter logs every reconnect attempt at level `fatal` with a stack,
 * one every 2 s for as long as it lasts. One warning every 10 s instead,
 * with the error's name and code, as the job queue does for PostgreSQL.
 */
let lastWarning = 0
redis.doNotLogErrors()
redis.on('connection', (connection) => {
  connection.on('error', ({ error }) => {
    const now = Date.now()
    if (now - lastWarning < 10_000) return
    lastWarning = now
    logger.warn(
      { err: { name: error?.name, code: (error as { code?: unknown })?.code } },
      'Redis unavailable, will try again'
    )
  })
})

if (app.getEnvironment() === 'web' && limiter.config.default === 'redis') {
  redis.connection()
}
