import env from '#start/env'
import { defineConfig } from '@adonisjs/redis'
import type { InferConnections } from '@adonisjs/redis/types'
import { InvalidSettingError } from '#config/setting'

/**
 * Used only when LIMITER_STORE=redis. Commands fail fast while Redis is
 * unreachable instead of queueing (a queued command would hang the request),
 * and each command is bounded by a timeout.
 */
const redisConfig = defineConfig({
  connection: 'main',
  connections: {
    main: {
      ...(env.get('REDIS_URL')
        ? parseRedisUrl(env.get('REDIS_URL')!)
        : { host: '127.0.0.1', port: 6379 }),
      keyPrefix: 'tessera:',
      enableOfflineQueue: false,
      connectTimeout: 2000,
      commandTimeout: 1000,
      maxRetriesPerRequest: 0,
      retryStrategy(times) {
        return Math.min(times * 200, 2000)
      },
    },
  },
})

function parseRedisUrl(value: string) {
  let url: URL | undefined
  try {
    url = new URL(value)
  } catch {}
  // the URL itself is never quoted: it may carry a password
  if (!url || (url.protocol !== 'redis:' && url.protocol !== 'rediss:')) {
    throw new InvalidSettingError('redis.url', 'REDIS_URL', 'expected a redis:// or rediss:// URL')
  }
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0,
    tls: url.protocol === 'rediss:' ? {} : undefined,
  }
}

export default redisConfig

declare module '@adonisjs/redis/types' {
  export interface RedisConnections extends InferConnections<typeof redisConfig> {}
}
