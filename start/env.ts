/*
|--------------------------------------------------------------------------
| Environment variables
|--------------------------------------------------------------------------
|
| Every variable the service reads, validated on each boot. A variable of
| the wrong shape stops the boot with a message naming it. Range checks
| that need more than a type (limits, lifetimes, argon2 floors) live in
| config/setting.ts, next to the settings they guard.
|
*/

import { Env } from '@adonisjs/core/env'

const env = await Env.create(new URL('../', import.meta.url), {
  NODE_ENV: Env.schema.enum.optional(['development', 'production', 'test'] as const),
  PORT: Env.schema.number.optional(),
  HOST: Env.schema.string.optional({ format: 'host' }),
  APP_KEY: Env.schema.secret(),
  LOG_LEVEL: Env.schema.enum.optional([
    'fatal',
    'error',
    'warn',
    'info',
    'debug',
    'trace',
    'silent',
  ] as const),

  /*
  |----------------------------------------------------------
  | Database: DATABASE_URL, or the embedded PostgreSQL that
  | bin/start.ts and bin/test.ts start when it is unset.
  | DB_POOLER says whether DATABASE_URL is a PgBouncer, and
  | in which pool mode; DIRECT_DATABASE_URL is the server
  | itself, for ace commands (config/setting.ts `database`).
  | The pool size and timeouts are read as text and checked
  | there, like the other numbers below.
  |----------------------------------------------------------
  */
  DATABASE_URL: Env.schema.string.optional(),
  DB_POOL_MAX: Env.schema.string.optional(),
  DB_ACQUIRE_TIMEOUT_MS: Env.schema.string.optional(),
  DB_CONNECT_TIMEOUT_MS: Env.schema.string.optional(),
  DB_STATEMENT_TIMEOUT_MS: Env.schema.string.optional(),
  DB_POOLER: Env.schema.enum.optional(['none', 'session', 'transaction'] as const),
  DIRECT_DATABASE_URL: Env.schema.string.optional(),

  /*
  |----------------------------------------------------------
  | Rate-limit store: PostgreSQL (default) or Redis
  |----------------------------------------------------------
  */
  LIMITER_STORE: Env.schema.enum.optional(['database', 'redis', 'memory'] as const),
  REDIS_URL: Env.schema.string.optional(),

  /*
  |----------------------------------------------------------
  | Mail: SMTP when SMTP_HOST is set, otherwise files under
  | tmp/mail (development and test only)
  |----------------------------------------------------------
  */
  SMTP_HOST: Env.schema.string.optional(),
  SMTP_PORT: Env.schema.number.optional(),
  SMTP_SECURE: Env.schema.boolean.optional(),
  SMTP_USERNAME: Env.schema.string.optional(),
  SMTP_PASSWORD: Env.schema.string.optional(),
  MAIL_FROM: Env.schema.string.optional(),
  MAIL_DIR: Env.schema.string.optional(),

  /*
  |----------------------------------------------------------
  | Settings an admin tunes (config/setting.ts). Numbers are
  | read as text here and checked there, so a bad value gets
  | the README's message naming the setting, its variable and
  | the accepted range.
  |----------------------------------------------------------
  */
  FRONTEND_URL: Env.schema.string.optional({ format: 'url', tld: false }),
  VERIFY_EMAIL_URL: Env.schema.string.optional({ format: 'url', tld: false }),
  RESET_PASSWORD_URL: Env.schema.string.optional({ format: 'url', tld: false }),
  TRUSTED_PROXIES: Env.schema.string.optional(),
  SESSION_LIMIT: Env.schema.string.optional(),
  SESSION_LIMIT_BY_ROLE: Env.schema.string.optional(),
  ACCESS_TOKEN_TTL: Env.schema.string.optional(),
  ACCESS_TOKEN_IDLE_TIMEOUT: Env.schema.string.optional(),
  VERIFICATION_TOKEN_TTL: Env.schema.string.optional(),
  RESET_TOKEN_TTL: Env.schema.string.optional(),
  LAST_USED_INTERVAL: Env.schema.string.optional(),
  SIGNIN_IP_LIMIT: Env.schema.string.optional(),
  SIGNIN_EMAIL_LIMIT: Env.schema.string.optional(),
  SIGNIN_IP_EMAIL_LIMIT: Env.schema.string.optional(),
  SIGNIN_WINDOW: Env.schema.string.optional(),
  SIGNIN_BLOCK: Env.schema.string.optional(),
  MAIL_IP_LIMIT: Env.schema.string.optional(),
  MAIL_EMAIL_LIMIT: Env.schema.string.optional(),
  MAIL_WINDOW: Env.schema.string.optional(),
  MAIL_BLOCK: Env.schema.string.optional(),
  TOKEN_IP_LIMIT: Env.schema.string.optional(),
  TOKEN_WINDOW: Env.schema.string.optional(),
  PASSWORD_MIN_LENGTH: Env.schema.string.optional(),
  PASSWORD_MAX_LENGTH: Env.schema.string.optional(),
  PASSWORD_CHECK_COMMON: Env.schema.boolean.optional(),
  ARGON2_MEMORY_KIB: Env.schema.string.optional(),
  ARGON2_ITERATIONS: Env.schema.string.optional(),
  ARGON2_PARALLELISM: Env.schema.string.optional(),
  HASH_CONCURRENCY: Env.schema.string.optional(),
  HASH_QUEUE_LIMIT: Env.schema.string.optional(),
  INSTANCES_PER_HOST: Env.schema.string.optional(),
  SHUTDOWN_DRAIN_WINDOW: Env.schema.string.optional(),
  SHUTDOWN_DEADLINE: Env.schema.string.optional(),
  ACCESS_LOG: Env.schema.boolean.optional(),
  HTTP_KEEP_ALIVE_TIMEOUT: Env.schema.string.optional(),
  METRICS_TOKEN: Env.schema.secret.optional(),
  JOB_CONCURRENCY: Env.schema.string.optional(),
  JOB_POLL_MS: Env.schema.string.optional(),
  JOB_RETRY_LIMIT: Env.schema.string.optional(),
  JOB_RETRY_DELAY: Env.schema.string.optional(),
  JOB_RETRY_DELAY_MAX: Env.schema.string.optional(),
  JOB_TIMEOUT: Env.schema.string.optional(),
  JOB_HEARTBEAT: Env.schema.string.optional(),
  JOB_SUPERVISE_INTERVAL: Env.schema.string.optional(),
  JOB_POOL_MAX: Env.schema.string.optional(),
})

/**
 * NODE_ENV, PORT and HOST have the README's defaults, so the documented
 * production environment (NODE_ENV, DATABASE_URL, APP_KEY, SMTP) is enough
 * without a `.env`. Set here, in the process environment too: the
 * framework's HTTP server reads PORT and HOST from there, and would bind
 * 0.0.0.0 without HOST.
 */
if (env.get('NODE_ENV') === undefined) env.set('NODE_ENV', 'development')
if (env.get('PORT') === undefined) env.set('PORT', 3333)
if (env.get('HOST') === undefined) env.set('HOST', '127.0.0.1')

export default env
