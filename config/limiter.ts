import env from '#start/env'
import { defineConfig, stores } from '@adonisjs/limiter'

/**
 * Where rate-limit counters live. PostgreSQL by default (one service fewer
 * on a single box); Redis when several instances run. Both count
 * atomically, so limits hold across processes and concurrent requests.
 * The limits themselves are in config/setting.ts.
 */
export const RATE_LIMITS_TABLE = 'rate_limits'

const limiterConfig = defineConfig({
  default: env.get('LIMITER_STORE', 'database'),
  stores: {
    database: stores.database({
      tableName: RATE_LIMITS_TABLE,
      connectionName: 'postgres',
      /**
       * Off: its timer would run an unbatched DELETE, as a named prepared
       * statement (refused behind a transaction-mode pooler), from every
       * limiter of every process. `node ace limits:prune` deletes expired
       * rows in batches instead, from cron.
       */
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
