import env from '#start/env'
import { defineConfig, stores } from '@adonisjs/limiter'

/**
 * Where rate-limit counters live. PostgreSQL by default (one service fewer
 * on a single box); Redis when several instances run. Both count
 * atomically, so limits hold across processes and concurrent requests.
 * The limits themselves are in config/setting.ts.
 */
const limiterConfig = defineConfig({
  default: env.get('LIMITER_STORE', 'database'),
  stores: {
    database: stores.database({
      tableName: 'rate_limits',
      connectionName: 'postgres',
      clearExpiredByTimeout: false,
    }),
    redis: stores.redis({
      connectionName: 'main',
      rejectIfRedisNotReady: true,
    }),
    memory: stores.memory({}),
  },
})

export default limiterConfig

declare module '@adonisjs/limiter/types' {
  export interface LimitersList extends InferLimiters<typeof limiterConfig> {}
}
