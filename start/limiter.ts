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
import { throttledWarning } from '#services/outage_log'

/**
 * A Redis that is down is an outage of the counted routes (they fail
 * closed, readiness says `degraded`), not of the process: the framework's
 * own reporter logs every reconnect attempt at level `fatal` with a stack,
 * one every 2 s for as long as it lasts. One warning every 10 s instead,
 * with the error's name and code, as the job queue does for PostgreSQL.
 */
const warnRedisDown = throttledWarning('Redis unavailable, will try again')
redis.doNotLogErrors()
redis.on('connection', (connection) => {
  connection.on('error', ({ error }) => warnRedisDown(error))
})

if (app.getEnvironment() === 'web' && limiter.config.default === 'redis') {
  redis.connection()
}
