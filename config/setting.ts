/*
|--------------------------------------------------------------------------
| Tessera settings
|--------------------------------------------------------------------------
|
| Everything an admin tunes, in one typed object. Each value has a default
| here and an environment variable that overrides it (the README lists them
| all). The boot stops with a message naming the setting and its variable
| when a value is out of range, so a typo never runs silently.
|
| App code reads settings from this file only, never from process.env.
|
*/

import { isIP } from 'node:net'
import { availableParallelism } from 'node:os'
import app from '@adonisjs/core/services/app'
import env from '#start/env'
import { ROLE_NAME } from '#services/role_names'

/**
 * Raised at boot for a setting that is present but unusable.
 */
export class InvalidSettingError extends Error {
  constructor(setting: string, variable: string, reason: string) {
    super(`Invalid setting "${setting}" (env ${variable}): ${reason}`)
    this.name = 'InvalidSettingError'
  }
}

function integer(setting: string, variable: string, fallback: number, min: number, max: number) {
  const raw = (env.get(variable as any) as string | undefined)?.trim()
  const value = raw === undefined ? fallback : /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidSettingError(setting, variable, `expected an integer from ${min} to ${max}`)
  }
  return value
}

/**
 * A duration in seconds: a whole number followed by `s`, `m`, `h`, `d` or
 * `w`, or a bare number of seconds ("30d", "15m", "2w", "90"). `nullable`
 * durations accept "0" or "off" to mean "never".
 */
function duration(
  setting: string,
  variable: string,
  fallback: string,
  options: { min: number; nullable?: boolean }
): number | null {
  const raw = ((env.get(variable as any) as string | undefined) ?? fallback).trim()
  if (options.nullable && (raw === '0' || raw === 'off')) return null
  const match = /^(\d+)([smhdw]?)$/.exec(raw)
  const seconds = match ? Number(match[1]) * UNITS[match[2] as keyof typeof UNITS] : Number.NaN
  if (!Number.isFinite(seconds) || seconds < options.min) {
    throw new InvalidSettingError(
      setting,
      variable,
      `expected a duration such as "90s", "15m", "24h", "30d" or "2w" of at least ${options.min}s${options.nullable ? ', or "off"' : ''}`
    )
  }
  return Math.floor(seconds)
}

const UNITS = { '': 1, 's': 1, 'm': 60, 'h': 3600, 'd': 86_400, 'w': 604_800 }

/**
 * The default argon2 budget of one process: the host's cores but one (left
 * to the event loops and PostgreSQL), shared by the instances the host
 * runs, and at least one each. With four instances on a 2-core host each
 * hashes one at a time; the host then runs four hashes at once, which
 * only an operator who set INSTANCES_PER_HOST (or HASH_CONCURRENCY) can
 * prevent (PERFORMANCE.md: while 2 hashes run, signed-in throughput
 * drops ~50%).
 */
export function hashConcurrencyFor(cores: number, instancesPerHost: number) {
  return Math.max(1, Math.floor((cores - 1) / instancesPerHost))
}

function metricsToken() {
  const token = env.get('METRICS_TOKEN')?.release()
  if (token !== undefined && token.length < 16) {
    throw new InvalidSettingError(
      'observability.metricsToken',
      'METRICS_TOKEN',
      'expected at least 16 characters (a random secret)'
    )
  }
  return token ?? null
}

function requiredDuration(setting: string, variable: string, fallback: string, min: number) {
  return duration(setting, variable, fallback, { min }) as number
}

function url(setting: string, variable: string, fallback: string) {
  const raw = (env.get(variable as any) as string | undefined) ?? fallback
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    throw new InvalidSettingError(setting, variable, 'expected an absolute http(s) URL')
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new InvalidSettingError(setting, variable, 'expected an absolute http(s) URL')
  }
  return parsed.toString()
}

/**
 * "admin:10,support:3" → { admin: 10, support: 3 }
 */
function roleLimits(setting: string, variable: string) {
  const raw = (env.get(variable as any) as string | undefined) ?? ''
  const limits: Record<string, number> = {}
  for (const pair of raw.split(',').filter((part) => part.trim() !== '')) {
    const [role, value] = pair.split(':').map((part) => part.trim())
    const limit = Number(value)
    if (!role || !ROLE_NAME.test(role) || !Number.isInteger(limit) || limit < 1) {
      throw new InvalidSettingError(setting, variable, `expected "role:limit,…", got "${pair}"`)
    }
    limits[role] = limit
  }
  return limits
}

/**
 * Addresses or CIDR ranges of reverse proxies whose X-Forwarded-For is
 * believed. Empty by default: the socket address is the client.
 */
function proxies(setting: string, variable: string) {
  const raw = (env.get(variable as any) as string | undefined) ?? ''
  const entries = raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
  for (const entry of entries) {
    const [address, bits] = entry.split('/')
    const family = isIP(address)
    const maxBits = family === 6 ? 128 : 32
    const validBits = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits)
    if (!family || !validBits) {
      throw new InvalidSettingError(
        setting,
        variable,
        `"${entry}" is not an IP address or CIDR range`
      )
    }
  }
  return entries
}

/**
 * A PostgreSQL connection URL (`postgres://` or `postgresql://`), or
 * undefined when the variable is unset. The URL itself never appears in
 * the message: it may carry a password.
 */
function databaseUrl(setting: string, variable: string) {
  const raw = env.get(variable as any) as string | undefined
  if (raw === undefined || raw.trim() === '') return undefined
  let parsed: URL | undefined
  try {
    parsed = new URL(raw)
  } catch {}
  if (!parsed || (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')) {
    throw new InvalidSettingError(setting, variable, 'expected a postgres:// URL')
  }
  return raw
}

const pooler = (env.get('DB_POOLER') as 'none' | 'session' | 'transaction' | undefined) ?? 'none'
const directUrl = databaseUrl('database.directUrl', 'DIRECT_DATABASE_URL')
if (pooler === 'transaction' && directUrl === undefined) {
  throw new InvalidSettingError(
    'database.directUrl',
    'DIRECT_DATABASE_URL',
    'required with DB_POOLER=transaction: migrations hold a session-scoped advisory lock, which a transaction-mode pooler leaks'
  )
}

const frontendUrl = url('frontend.url', 'FRONTEND_URL', 'http://localhost:5173')

const passwordMin = integer('password.minLength', 'PASSWORD_MIN_LENGTH', 8, 8, 64)
const passwordMax = integer('password.maxLength', 'PASSWORD_MAX_LENGTH', 128, 64, 1024)

const settings = {
  /**
   * Where email links point. Built from configuration only, never from the
   * request's Host or X-Forwarded-Host, so a client cannot aim a reset link
   * at its own server.
   */
  links: {
    verifyEmail: url(
      'links.verifyEmail',
      'VERIFY_EMAIL_URL',
      new URL(
        'verify-email',
        frontendUrl.endsWith('/') ? frontendUrl : `${frontendUrl}/`
      ).toString()
    ),
    resetPassword: url(
      'links.resetPassword',
      'RESET_PASSWORD_URL',
      new URL(
        'reset-password',
        frontendUrl.endsWith('/') ? frontendUrl : `${frontendUrl}/`
      ).toString()
    ),
  },

  /**
   * What DATABASE_URL points at, and where ace commands connect.
   *
   * `pooler`: `none` (PostgreSQL itself), `session` or `transaction` (a
   * PgBouncer in that pool mode). PgBouncer refuses the timeouts as
   * startup parameters, so behind it they are set per connection
   * (session mode) or per transaction (transaction mode); in transaction
   * mode statements are also unnamed, since a named prepared statement
   * lives on one server connection and the next transaction may get
   * another (config/database.ts). Named statements are faster: use a
   * transaction-mode pooler only when connections are scarce.
   *
   * `directUrl` (`DIRECT_DATABASE_URL`): PostgreSQL without the pooler, for
   * ace commands — migrations take Lucid's session-scoped advisory lock,
   * which a transaction-mode pooler would leave held on a server
   * connection. Required with `pooler: 'transaction'`; unset, commands use
   * DATABASE_URL.
   *
   * The pool and its bounds: connections per process, the longest wait
   * for a pooled connection and to open one (then 503), and PostgreSQL's
   * `statement_timeout` (idle-in-transaction is twice that). None may be
   * 0: a pool of none never answers, and a timeout of 0 is no bound.
   */
  database: {
    pooler,
    directUrl,
    poolMax: integer('database.poolMax', 'DB_POOL_MAX', 10, 1, 1000),
    acquireTimeoutMs: integer(
      'database.acquireTimeoutMs',
      'DB_ACQUIRE_TIMEOUT_MS',
      3000,
      100,
      600_000
    ),
    connectTimeoutMs: integer(
      'database.connectTimeoutMs',
      'DB_CONNECT_TIMEOUT_MS',
      3000,
      100,
      600_000
    ),
    statementTimeoutMs: integer(
      'database.statementTimeoutMs',
      'DB_STATEMENT_TIMEOUT_MS',
      5000,
      100,
      3_600_000
    ),
  },

  /**
   * Proxies allowed to set X-Forwarded-For. Trusting one that is not yours
   * lets any client choose its own rate-limit bucket.
   */
  trustedProxies: proxies('trustedProxies', 'TRUSTED_PROXIES'),

  /**
   * Concurrent sessions (access tokens) per user. A sign-in beyond the cap
   * evicts the oldest. Higher caps suit many devices; lower caps shrink the
   * number of live secrets per account.
   */
  sessions: {
    limit: integer('sessions.limit', 'SESSION_LIMIT', 5, 1, 1000),
    limitByRole: roleLimits('sessions.limitByRole', 'SESSION_LIMIT_BY_ROLE'),
  },

  /**
   * Token lifetimes. Long access tokens spare users sign-ins; short ones
   * bound the damage of a stolen device. The idle timeout ends sessions not
   * used for that long (precise to `lastUsedInterval`).
   */
  tokens: {
    accessTtl: duration('tokens.accessTtl', 'ACCESS_TOKEN_TTL', '30d', { min: 60, nullable: true }),
    accessIdleTimeout: duration('tokens.accessIdleTimeout', 'ACCESS_TOKEN_IDLE_TIMEOUT', '7d', {
      min: 300,
      nullable: true,
    }),
    verificationTtl: requiredDuration(
      'tokens.verificationTtl',
      'VERIFICATION_TOKEN_TTL',
      '24h',
      60
    ),
    resetTtl: requiredDuration('tokens.resetTtl', 'RESET_TOKEN_TTL', '30m', 60),
    /**
     * `last_used_at` is written at most once per token per interval: a
     * shorter interval gives fresher session lists, a longer one fewer writes.
     */
    lastUsedInterval: requiredDuration('tokens.lastUsedInterval', 'LAST_USED_INTERVAL', '60s', 1),
  },

  /**
   * Rate limits: `requests` per `window` seconds, then blocked for `block`
   * seconds. Per-IP limits stop spraying many accounts from one address;
   * per-email limits stop guessing one account from many addresses.
   */
  rateLimits: {
    signin: {
      perIp: {
        requests: integer('rateLimits.signin.perIp', 'SIGNIN_IP_LIMIT', 50, 1, 100000),
        window: requiredDuration('rateLimits.signin.window', 'SIGNIN_WINDOW', '15m', 1),
        block: requiredDuration('rateLimits.signin.block', 'SIGNIN_BLOCK', '15m', 1),
      },
      perEmail: {
        requests: integer('rateLimits.signin.perEmail', 'SIGNIN_EMAIL_LIMIT', 10, 1, 100000),
        window: requiredDuration('rateLimits.signin.window', 'SIGNIN_WINDOW', '15m', 1),
        block: requiredDuration('rateLimits.signin.block', 'SIGNIN_BLOCK', '15m', 1),
      },
      perIpEmail: {
        requests: integer('rateLimits.signin.perIpEmail', 'SIGNIN_IP_EMAIL_LIMIT', 5, 1, 100000),
        window: requiredDuration('rateLimits.signin.window', 'SIGNIN_WINDOW', '15m', 1),
        block: requiredDuration('rateLimits.signin.block', 'SIGNIN_BLOCK', '15m', 1),
      },
    },
    /**
     * Routes that send mail: signup, resend, forgot.
     */
    mail: {
      perIp: {
        requests: integer('rateLimits.mail.perIp', 'MAIL_IP_LIMIT', 20, 1, 100000),
        window: requiredDuration('rateLimits.mail.window', 'MAIL_WINDOW', '1h', 1),
        block: requiredDuration('rateLimits.mail.block', 'MAIL_BLOCK', '1h', 1),
      },
      perEmail: {
        requests: integer('rateLimits.mail.perEmail', 'MAIL_EMAIL_LIMIT', 3, 1, 100000),
        window: requiredDuration('rateLimits.mail.window', 'MAIL_WINDOW', '1h', 1),
        block: requiredDuration('rateLimits.mail.block', 'MAIL_BLOCK', '1h', 1),
      },
    },
    /**
     * Routes that take a token from the body: email verification and reset.
     */
    tokens: {
      perIp: {
        requests: integer('rateLimits.tokens.perIp', 'TOKEN_IP_LIMIT', 30, 1, 100000),
        window: requiredDuration('rateLimits.tokens.window', 'TOKEN_WINDOW', '15m', 1),
        block: requiredDuration('rateLimits.tokens.window', 'TOKEN_WINDOW', '15m', 1),
      },
    },
  },

  /**
   * NIST 800-63B: length, no composition rules, a blocklist of common
   * passwords. The maximum is checked before hashing, so a 1 MB password
   * costs nothing.
   */
  password: {
    minLength: passwordMin,
    maxLength: passwordMax,
    checkCommon: (env.get('PASSWORD_CHECK_COMMON') as boolean | undefined) ?? true,
  },

  /**
   * argon2id cost and how many hashes may run at once. OWASP's floor is
   * m=19456 KiB, t=2, p=1; more memory or iterations slow attackers and
   * sign-ins alike. `concurrency` bounds simultaneous hashes so a burst of
   * sign-ins cannot starve signed-in traffic — by default one core fewer
   * than the machine has (at least one), leaving a core to the event loop
   * and the database (PERFORMANCE.md P6), divided among the
   * INSTANCES_PER_HOST processes of one host; `queueLimit` bounds how many wait
   * (beyond it, 503 with Retry-After).
   */
  hashing: {
    memoryKib: integer('hashing.memoryKib', 'ARGON2_MEMORY_KIB', 19456, 19456, 4194304),
    iterations: integer('hashing.iterations', 'ARGON2_ITERATIONS', 2, 2, 64),
    parallelism: integer('hashing.parallelism', 'ARGON2_PARALLELISM', 1, 1, 16),
    concurrency: integer(
      'hashing.concurrency',
      'HASH_CONCURRENCY',
      hashConcurrencyFor(
        availableParallelism(),
        integer('hashing.instancesPerHost', 'INSTANCES_PER_HOST', 1, 1, 256)
      ),
      1,
      64
    ),
    queueLimit: integer('hashing.queueLimit', 'HASH_QUEUE_LIMIT', 200, 1, 100000),
  },

  /**
   * Idle keep-alive connections are kept this long. Behind a load balancer
   * it must exceed the balancer's idle timeout (60 s on the common ones),
   * or the balancer sends a request down a connection the server is just
   * closing and answers 502.
   */
  http: {
    keepAliveTimeout: requiredDuration(
      'http.keepAliveTimeout',
      'HTTP_KEEP_ALIVE_TIMEOUT',
      '75s',
      1
    ),
  },

  /**
   * What operators see. The access log is one line per request (method,
   * route pattern, status, milliseconds, request id; never a body, query
   * or header), at level info. Prometheus metrics are served at
   * `GET /metrics` only to `Authorization: Bearer <METRICS_TOKEN>`; with no
   * token set the route answers 404, so nothing is exposed by default.
   */
  observability: {
    accessLog: (env.get('ACCESS_LOG') as boolean | undefined) ?? true,
    metricsToken: metricsToken(),
  },

  /**
   * A stop (SIGTERM or SIGINT): for `drainWindow` seconds readiness answers
   * 503 while requests are still served, so a load balancer polling it
   * stops sending new ones; then the server stops accepting connections,
   * finishes the requests in flight and exits. `deadline` bounds the whole
   * stop, counted from the signal: a longer drain suits a slow balancer,
   * a shorter deadline a strict orchestrator (Kubernetes waits 30 s by
   * default). No drain outside production, so a developer's Ctrl-C is
   * immediate.
   */
  shutdown: {
    drainWindow: requiredDuration(
      'shutdown.drainWindow',
      'SHUTDOWN_DRAIN_WINDOW',
      env.get('NODE_ENV') === 'production' ? '10s' : '0s',
      0
    ),
    deadline: requiredDuration('shutdown.deadline', 'SHUTDOWN_DEADLINE', '30s', 1),
  },

  /**
   * The job queue in PostgreSQL that issues links and sends mail after the
   * response (app/services/background.ts, SECURITY.md F6). `concurrency`
   * bounds the jobs — and so the SMTP sends — one process runs at once;
   * `pollMs` is how soon another instance's job is noticed (a job enqueued
   * by this process wakes its own worker at once). A failed job is retried
   * `retryLimit` times with exponential backoff from `retryDelay` (capped
   * at `retryDelayMax`), then dead-lettered for an operator (`jobs:failed`,
   * `jobs:retry`). A running job's worker refreshes its heartbeat every
   * `heartbeat / 2` seconds: a job whose process died (SIGKILL, OOM) is
   * taken up again once its heartbeat is `heartbeat` seconds old (at least
   * 10, pg-boss's floor) and the next maintenance pass runs. `timeout`
   * bounds one run in a live process: longer than one send may take (SMTP
   * timeouts add up to 20 s).
   */
  jobs: {
    concurrency: integer('jobs.concurrency', 'JOB_CONCURRENCY', 4, 1, 64),
    pollMs: integer('jobs.pollMs', 'JOB_POLL_MS', app.inTest ? 25 : 1000, 10, 60_000),
    retryLimit: integer('jobs.retryLimit', 'JOB_RETRY_LIMIT', app.inTest ? 2 : 10, 0, 100),
    retryDelay: requiredDuration('jobs.retryDelay', 'JOB_RETRY_DELAY', app.inTest ? '1s' : '5s', 1),
    retryDelayMax: requiredDuration('jobs.retryDelayMax', 'JOB_RETRY_DELAY_MAX', '15m', 1),
    timeout: requiredDuration('jobs.timeout', 'JOB_TIMEOUT', '60s', 1),
    heartbeat: requiredDuration('jobs.heartbeat', 'JOB_HEARTBEAT', '10s', 10),
    superviseInterval: requiredDuration(
      'jobs.superviseInterval',
      'JOB_SUPERVISE_INTERVAL',
      '10s',
      1
    ),
    poolMax: integer('jobs.poolMax', 'JOB_POOL_MAX', 3, 1, 100),
  },
}

/**
 * Production runs on a PostgreSQL the operator provides: the embedded one
 * is a development convenience and is not even installed by a production
 * install (`npm ci --omit=dev`).
 */
if (env.get('NODE_ENV') === 'production' && !env.get('DATABASE_URL')) {
  throw new InvalidSettingError(
    'database.url',
    'DATABASE_URL',
    'required in production (postgres://user:password@host:5432/database)'
  )
}

if (settings.shutdown.drainWindow >= settings.shutdown.deadline) {
  throw new InvalidSettingError(
    'shutdown.drainWindow',
    'SHUTDOWN_DRAIN_WINDOW',
    `must be shorter than shutdown.deadline (${settings.shutdown.deadline}s)`
  )
}

if (passwordMin > passwordMax) {
  throw new InvalidSettingError(
    'password.minLength',
    'PASSWORD_MIN_LENGTH',
    `must not exceed password.maxLength (${passwordMax})`
  )
}

export default settings
export type Settings = typeof settings
