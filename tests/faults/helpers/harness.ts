import { randomBytes } from 'node:crypto'
import app from '@adonisjs/core/services/app'
import { freePort } from '#database/embedded_postgres'
import { Mailbox } from '#tests/helpers/mailbox'
import FaultCluster from '#tests/faults/helpers/cluster'
import RedisServer from '#tests/faults/helpers/redis_server'
import PgBouncer from '#tests/faults/helpers/pgbouncer'
import ServiceProcess, { LOG_LEVEL, type LogEntry } from '#tests/faults/helpers/service'
import { forge, SEED_LENGTH, withChecksum } from '#tests/helpers/token_forgery'
import { runAce } from '#tests/helpers/service_process'
import TcpGate from '#tests/faults/helpers/tcp_gate'
import { checkConnections, checkIntegrity } from '#tests/faults/helpers/integrity'
import {
  Api,
  LoadDriver,
  LoadUser,
  newPassword,
  type Kind,
  type Outcome,
} from '#tests/faults/helpers/load'
import { sleep } from '#tests/faults/helpers/processes'

/**
 * Short, explicit timeouts for the service under test (config/database.ts
 * reads them), and the pool size the connection check holds it to.
 */
export const LIMITS = { poolMax: 5, acquireMs: 1000, connectMs: 1000, statementMs: 1500 }

/**
 * The longest any request may take before it counts as a hang: a pool
 * acquire, a connect, and a statement plus its rollback each up to the
 * client-side query timeout (statement timeout + 1 s), plus a 2 s margin
 * for argon2 queueing on a 2-core machine.
 */
export const BUDGET_MS =
  LIMITS.acquireMs + LIMITS.connectMs + 2 * (LIMITS.statementMs + 1000) + 2000

/** How long after a fault is removed the same process must serve again. */
export const RECOVERY_MS = 20_000

const SUCCESS: Partial<Record<Kind, number>> = { signin: 200, me: 200, forgot: 202, reset: 200 }

export type FaultSpec = {
  name: string
  /** Starts the fault; it holds until `remove`. */
  inject: () => Promise<void>
  holdMs: number
  /** Runs while the fault holds (backend killing, bursts, explicit requests). */
  during?: () => Promise<void>
  remove: () => Promise<void>
  /** What /health/ready must say while the fault holds. */
  ready: 'down' | 'up' | 'any'
  /** Kinds that must meet at least one 503 while the fault holds. */
  unavailable?: Kind[]
  /** Kinds that must never get a 503 (unaffected routes). */
  unaffected?: Kind[]
  /** Kinds whose every request started during the fault must be refused with 503. */
  failClosed?: Kind[]
  /** A reset may be applied while its answer is lost with the connection. */
  lostAcknowledgementPossible?: boolean
  /** The service process itself goes away (F5): no answer is expected meanwhile. */
  serviceDown?: boolean
  /** Mail may be lost (and must then be logged): no missing-mail failure. */
  mailMayBeLost?: boolean
}

export type FaultReport = {
  name: string
  failures: string[]
  notes: string[]
  summary: string
}

/**
 * Failed faults, repeated on stderr when the process exits: the end of a
 * CI log then names what failed, not just the assertion's stack.
 */
const failedReports: FaultReport[] = []
process.once('exit', () => {
  for (const report of failedReports) {
    process.stderr.write(
      `\n[faults] FAILED ${report.name}\n${report.failures.map((line) => `  ✗ ${line}`).join('\n')}\n`
    )
  }
})

const SECRET_IN_LOG = /\b(oat|evt|prt)_[A-Za-z0-9_-]{8,}/
/** The suite's addresses all end in example.com; the log may name domains only. */
const ADDRESS_IN_LOG = /[A-Za-z0-9._-]+@[A-Za-z0-9.-]*example\.com/
/**
 * A stack trace, as JSON escapes it: the README promises stacks only at
 * LOG_LEVEL=debug, and the fault runs log at warn.
 */
const STACK_IN_LOG = /\\n\s+at /

/**
 * Everything one fault test file needs: its own PostgreSQL, an SMTP sink
 * behind a gate, optionally Redis, the service in production mode, and a
 * set of verified users driven by the load.
 */
export default class Harness {
  reports: FaultReport[] = []

  private constructor(
    readonly cluster: FaultCluster,
    readonly mailbox: Mailbox,
    readonly gate: TcpGate,
    readonly redis: RedisServer | undefined,
    readonly pgbouncer: PgBouncer | undefined,
    readonly service: ServiceProcess,
    readonly api: Api,
    readonly driver: LoadDriver,
    private probe: LoadUser & { session: string }
  ) {}

  /**
   * @param options.name names the service's log file, tmp/faults-logs/<name>.log
   * @param options.pooler puts a PgBouncer in that pool mode between the
   *   service and PostgreSQL (DB_POOLER); in transaction mode, ace commands
   *   (the migrations) get the server itself as DIRECT_DATABASE_URL
   */
  static async start(options: {
    name: string
    limiterStore?: 'redis'
    pooler?: 'session' | 'transaction'
    users?: number
    resets?: boolean
    /** Extra or overriding environment for the service (job queue settings). */
    env?: Record<string, string>
  }) {
    /** What is running so far, stopped in reverse if set-up fails half-way. */
    const started: Array<() => Promise<unknown>> = []
    try {
      const cluster = await FaultCluster.start(
        app.makePath('tmp', 'faults-postgres', String(process.pid))
      )
      started.push(() => cluster.destroy())
      const mailbox = new Mailbox()
      const gate = new TcpGate(await mailbox.start())
      started.push(() => mailbox.stop())
      await gate.open()
      started.push(() => gate.close())
      let redis: RedisServer | undefined
      if (options.limiterStore === 'redis') {
        redis = new RedisServer(await freePort())
        started.push(() => redis!.stop())
        await redis.start()
      }
      let pgbouncer: PgBouncer | undefined
      if (options.pooler) {
        // session mode pins a server connection to each client connection:
        // its pool must hold the service's and an ace command's
        const poolSize = options.pooler === 'session' ? LIMITS.poolMax * 2 : 3
        pgbouncer = new PgBouncer(await freePort(), cluster.url, options.pooler, poolSize)
        started.push(() => pgbouncer!.stop())
        await pgbouncer.start()
      }
      const port = await freePort()
      const env = {
        ...serviceEnv(pgbouncer?.url ?? cluster.url, gate.port, redis?.url),
        ...(options.pooler ? { DB_POOLER: options.pooler } : {}),
        ...(options.pooler === 'transaction' ? { DIRECT_DATABASE_URL: cluster.url } : {}),
        ...options.env,
      }
      await runAce(['migration:run', '--force', '--no-schema-generate', '--compact-output'], {
        ...env,
        HOST: '127.0.0.1',
        PORT: String(port),
      })
      const service = new ServiceProcess(
        port,
        env,
        app.makePath('tmp', 'faults-logs', `${options.name}.log`)
      )
      started.push(() => service.stop())
      await service.start()

      const api = new Api(service.url, BUDGET_MS)
      const [probe, ...users] = await createUsers(
        cluster,
        service.url,
        mailbox,
        (options.users ?? 18) + 1
      )
      const signin = JSON.parse(
        await post(
          service.url,
          '/api/v1/auth/signin',
          { email: probe.email, password: probe.password },
          [200]
        )
      )
      const driver = new LoadDriver(api, mailbox, users, {
        workers: 6,
        maxRequests: 5000,
        maxMs: 90_000,
        resets: options.resets ?? true,
      })
      return new Harness(
        cluster,
        mailbox,
        gate,
        redis,
        pgbouncer,
        service,
        api,
        driver,
        Object.assign(probe, { session: String(signin.data.token) })
      )
    } catch (error) {
      for (const stop of started.reverse()) await stop().catch(() => {})
      throw error
    }
  }

  /**
   * `size` accounts signed up through the API on a domain of their own (the
   * log names recipients' domains only), each waited for until its
   * confirmation mail arrived, and as many addresses without an account on
   * the same domain.
   */
  async signUpOnOwnDomain(tag: string, size = 4) {
    const run = randomBytes(3).toString('hex')
    const domain = `${tag}-${run}.example.com`
    const known = Array.from({ length: size }, (_, index) => `known-${index}@${domain}`)
    const unknown = Array.from({ length: size }, (_, index) => `nobody-${index}@${domain}`)
    for (const email of known) {
      await post(
        this.service.url,
        '/api/v1/auth/signup',
        { email, password: `Faults-${run}-${email}` },
        [202]
      )
      await this.mailbox.waitFor(email, /Confirm your email/, 15_000)
    }
    return { domain, known, unknown }
  }

  async stop() {
    await this.driver.stop()
    await this.service.stop()
    await this.redis?.stop()
    await this.pgbouncer?.stop()
    await this.gate.close()
    await this.mailbox.stop()
    await this.cluster.destroy()
  }

  /**
   * Runs the load, injects one fault, holds it, removes it, waits for the
   * same process to serve every flow again, then checks every answer, the
   * health endpoints, the database's integrity and the service's
   * connections. Returns the failures (empty when the service survived).
   */
  async runFault(spec: FaultSpec): Promise<FaultReport> {
    const failures: string[] = []
    const notes: string[] = []
    await this.driver.armLinks()
    this.driver.supersedingExpected = spec.serviceDown ?? false
    const pid = this.service.pid
    const from = Date.now()
    const logsFrom = this.service.logs.length
    const anomaliesFrom = this.driver.anomalies.length
    const missingFrom = this.driver.missingMail.length
    const prober = this.#probeHealth()
    this.driver.start()

    let injectStart = 0
    let injectedAt = 0
    let removeStart = 0
    let removedAt = 0
    let recoveredAt: number | undefined
    try {
      await sleep(1500)
      injectStart = Date.now()
      try {
        await spec.inject()
        injectedAt = Date.now()
        const during = spec.during?.()
        const probes = sleep(spec.holdMs / 2).then(() =>
          this.#probe([...new Set([...(spec.unavailable ?? []), ...(spec.failClosed ?? [])])])
        )
        await sleep(spec.holdMs)
        await Promise.all([during, probes])
      } finally {
        removeStart = Date.now()
        await spec.remove()
        removedAt = Date.now()
      }
      recoveredAt = await this.#waitForRecovery(removedAt)
      await sleep(1000)
    } finally {
      await this.driver.stop()
      await prober.stop()
    }
    const to = Date.now()

    const outcomes = this.api.outcomes.filter((outcome) => outcome.startedAt >= from)
    const duringFault = (outcome: Outcome) =>
      outcome.startedAt >= injectStart && outcome.startedAt <= removedAt
    const logs = this.service.logs.slice(logsFrom)
    const at = (time: number) => `t${time >= injectStart ? '+' : ''}${time - injectStart}ms`

    for (const outcome of outcomes) {
      const where = `${outcome.kind} at ${at(outcome.startedAt)}`
      if (outcome.failure === 'hang') {
        failures.push(`HANG: ${where} had no answer within ${BUDGET_MS} ms`)
      } else if (outcome.failure === 'network') {
        const expected =
          spec.serviceDown && outcome.startedAt <= removedAt && outcome.endedAt >= injectStart
        if (!expected) {
          failures.push(`NO ANSWER: ${where}: ${outcome.detail} after ${outcome.ms} ms`)
        }
      } else if (outcome.status >= 500 && outcome.status !== 503) {
        failures.push(
          `${outcome.status}: ${where} (${outcome.code}) after ${outcome.ms} ms; server log: ${evidence(logs, outcome)}`
        )
      } else if (outcome.status === 503) {
        if (!/^\d+$/.test(String(outcome.retryAfter)) || Number(outcome.retryAfter) < 1) {
          failures.push(`503 without Retry-After: ${where}`)
        }
        if (outcome.code !== 'E_SERVICE_UNAVAILABLE') {
          failures.push(`503 with code ${outcome.code}: ${where}`)
        }
      }
      if (outcome.kind === 'live' && outcome.status !== 200 && !outcome.failure) {
        failures.push(`/health/live answered ${outcome.status} at ${at(outcome.startedAt)}`)
      }
    }

    const readyDuring = outcomes.filter(
      (outcome) =>
        outcome.kind === 'ready' &&
        outcome.startedAt >= injectedAt + 500 &&
        outcome.endedAt <= removeStart
    )
    if (spec.ready === 'down' && !readyDuring.some((outcome) => outcome.status === 503)) {
      failures.push(`/health/ready never answered 503 during the fault (${histogram(readyDuring)})`)
    }
    if (spec.ready === 'up' && readyDuring.some((outcome) => outcome.status !== 200)) {
      failures.push(`/health/ready was not 200 throughout (${histogram(readyDuring)})`)
    }
    for (const kind of spec.unavailable ?? []) {
      if (
        !outcomes.some(
          (outcome) => outcome.kind === kind && duringFault(outcome) && outcome.status === 503
        )
      ) {
        failures.push(`the fault never reached ${kind}: no 503 while it held`)
      }
    }
    for (const kind of spec.unaffected ?? []) {
      const refused = outcomes.filter((outcome) => outcome.kind === kind && outcome.status >= 500)
      if (refused.length > 0) {
        failures.push(
          `${kind} should be unaffected but got ${histogram(refused)} (first at ${at(refused[0].startedAt)})`
        )
      }
    }
    for (const kind of spec.failClosed ?? []) {
      const open = outcomes.filter(
        (outcome) =>
          outcome.kind === kind &&
          outcome.startedAt >= injectedAt + 100 &&
          outcome.endedAt <= removeStart &&
          outcome.status !== 503
      )
      if (open.length > 0) {
        failures.push(
          `FAIL-OPEN: ${open.length} ${kind} requests were served while the store was down (${histogram(open)})`
        )
      }
    }
    if (recoveredAt === undefined) {
      const after = outcomes.filter((outcome) => outcome.startedAt >= removedAt)
      failures.push(
        `NO RECOVERY within ${RECOVERY_MS} ms after the fault was removed: ${describeCounts(after)}`
      )
    }
    if (!spec.serviceDown && (this.service.pid !== pid || !this.service.running)) {
      failures.push(`the service process changed or died (pid ${pid} → ${this.service.pid})`)
    }
    for (const anomaly of this.driver.anomalies.slice(anomaliesFrom)) {
      const user = this.driver.users.find((candidate) => candidate.email === anomaly.email)
      const history = user
        ? `. Last requests:\n      ${user.history.slice(-12).join('\n      ')}`
        : ''
      failures.push(`${anomaly.email} at ${at(anomaly.at)}: ${anomaly.text}${history}`)
    }
    for (const missing of this.driver.missingMail.slice(missingFrom)) {
      const line = `${missing.email}: ${missing.text}`
      if (spec.mailMayBeLost) notes.push(line)
      else failures.push(line)
    }
    const leaked = logs.filter((entry) => SECRET_IN_LOG.test(JSON.stringify(entry)))
    if (leaked.length > 0) failures.push(`tokens in the server log: ${leaked.length} lines`)
    const addresses = logs.filter((entry) => ADDRESS_IN_LOG.test(JSON.stringify(entry)))
    if (addresses.length > 0) {
      failures.push(`email addresses in the server log: ${addresses.length} lines`)
    }
    const stacks = logs.filter((entry) => STACK_IN_LOG.test(JSON.stringify(entry)))
    if (stacks.length > 0) {
      failures.push(`${stacks.length} log lines with a stack trace: ${summarizeLogs(stacks)}`)
    }
    const unhandled = logs.filter((entry) => entry.msg === 'unhandled error')
    if (unhandled.length > 0) {
      failures.push(`${unhandled.length} "unhandled error" log lines: ${summarizeLogs(unhandled)}`)
    }

    this.driver.collectRedeliveries()
    const integrity = await checkIntegrity(this.cluster, this.driver.users, {
      lostAcknowledgementPossible: spec.lostAcknowledgementPossible ?? false,
      supersedingExpected: this.driver.supersedingExpected,
    })
    failures.push(...integrity.failures)
    notes.push(...integrity.notes)
    const connections = await checkConnections(this.cluster, LIMITS.poolMax)
    failures.push(...connections.failures)

    const requests = outcomes.filter(
      (outcome) => outcome.kind !== 'live' && outcome.kind !== 'ready'
    )
    const probes = outcomes.filter((outcome) => outcome.kind === 'live' || outcome.kind === 'ready')
    const slowest = Math.max(0, ...outcomes.filter((outcome) => !outcome.failure).map((o) => o.ms))
    const warnings = logs.filter((entry) => entry.level >= LOG_LEVEL.warn)
    const summary = [
      `${spec.name}: ${requests.length} requests in ${((to - from) / 1000).toFixed(1)} s, fault held ${((removeStart - injectStart) / 1000).toFixed(1)} s`,
      `  load:   ${describeCounts(requests)}`,
      `  during: ${describeCounts(requests.filter(duringFault))}`,
      `  health: ${describeCounts(probes)}`,
      `  slowest answer ${slowest} ms (budget ${BUDGET_MS} ms); ` +
        (recoveredAt === undefined
          ? 'NOT recovered'
          : `every flow served again ${recoveredAt - removedAt} ms after removal`),
      `  server log: ${warnings.length} warn+ lines (${summarizeLogs(warnings)})`,
      `  integrity: checked ${integrity.checked}`,
      `  connections after: ${connections.samples[connections.samples.length - 1] ?? '?'}`,
      `  ${failures.length === 0 ? 'SURVIVED' : `${failures.length} FAILURES`}; notes: ${notes.length}`,
    ].join('\n')
    process.stdout.write(`\n[faults] ${summary}\n`)
    for (const failure of failures.slice(0, 40)) process.stdout.write(`  ✗ ${failure}\n`)
    for (const note of notes.slice(0, 20)) process.stdout.write(`  · ${note}\n`)
    const report = { name: spec.name, failures, notes, summary }
    this.reports.push(report)
    if (failures.length > 0) failedReports.push(report)
    return report
  }

  /**
   * `count` concurrent GET /me with live sessions: more requests at once
   * than the pool has connections.
   */
  async burst(count: number) {
    const sessions = this.driver.users.flatMap((user) => user.sessions)
    if (sessions.length === 0) return
    await Promise.all(
      Array.from({ length: count }, (_, index) =>
        this.api.call('me', 'GET', '/api/v1/me', { token: sessions[index % sessions.length].value })
      )
    )
  }

  /**
   * One request of each kind, mid-fault, from a user outside the load, so
   * that every kind the fault must refuse is certainly tried while it holds.
   * Reset and verify present tokens that do not exist but pass every check
   * made without the database (format, checksum), so the service must look
   * them up: 400 when it can, 503 when the fault keeps it from the table.
   */
  async #probe(kinds: Kind[]) {
    const bogus = (prefix: string) =>
      forge(
        prefix,
        '987654321',
        withChecksum(randomBytes(SEED_LENGTH).toString('base64url').slice(0, SEED_LENGTH))
      )
    const requests: Partial<Record<Kind, () => Promise<unknown>>> = {
      signin: () =>
        this.api.call('signin', 'POST', '/api/v1/auth/signin', {
          body: { email: this.probe.email, password: this.probe.password },
        }),
      guess: () =>
        this.api.call('guess', 'POST', '/api/v1/auth/signin', {
          body: { email: this.probe.email, password: 'not the password at all' },
        }),
      me: () => this.api.call('me', 'GET', '/api/v1/me', { token: this.probe.session }),
      forgot: () =>
        this.api.call('forgot', 'POST', '/api/v1/auth/password/forgot', {
          body: { email: this.probe.email },
        }),
      reset: () =>
        this.api.call('reset', 'POST', '/api/v1/auth/password/reset', {
          body: { token: bogus('prt_'), password: newPassword() },
        }),
      verify: () =>
        this.api.call('verify', 'POST', '/api/v1/auth/email/verify', {
          body: { token: bogus('evt_') },
        }),
    }
    await Promise.all(kinds.map((kind) => requests[kind]?.()))
  }

  /**
   * Polls until /health/ready and every flow of the load have answered
   * with success after `since`; the time it happened, or undefined.
   */
  async #waitForRecovery(since: number) {
    const kinds = (Object.keys(SUCCESS) as Kind[]).filter(
      (kind) => kind === 'signin' || kind === 'me' || this.driver.resetsEnabled
    )
    const deadline = since + RECOVERY_MS
    while (Date.now() < deadline) {
      const after = this.api.outcomes.filter((outcome) => outcome.startedAt >= since)
      const served = (kind: Kind, status: number) =>
        after.some((outcome) => outcome.kind === kind && outcome.status === status)
      if (served('ready', 200) && kinds.every((kind) => served(kind, SUCCESS[kind]!))) {
        return Date.now()
      }
      await sleep(100)
    }
    return undefined
  }

  /**
   * /health/live and /health/ready every 200 ms until stopped.
   */
  #probeHealth() {
    let stopping = false
    const loop = (async () => {
      const deadline = Date.now() + 120_000
      while (!stopping && Date.now() < deadline) {
        await Promise.all([
          this.api.call('live', 'GET', '/health/live'),
          this.api.call('ready', 'GET', '/health/ready'),
        ])
        await sleep(200)
      }
    })()
    return {
      async stop() {
        stopping = true
        await loop
      },
    }
  }
}

/**
 * The service's environment: production mode, the suite's PostgreSQL, SMTP
 * sink and Redis, short timeouts, and rate limits high enough that the
 * load is never throttled.
 */
function serviceEnv(databaseUrl: string, smtpPort: number, redisUrl?: string) {
  return {
    /**
     * FAULTS_SERVICE_ENV=development shows error messages and stacks in
     * the service log (production logs only an error's name and code).
     */
    NODE_ENV: process.env.FAULTS_SERVICE_ENV ?? 'production',
    // a stop without the production drain window: the drain has its own
    // test (shutdown.spec.ts), and these restarts should be prompt
    SHUTDOWN_DRAIN_WINDOW: '0s',
    APP_KEY: randomBytes(32).toString('base64url'),
    DATABASE_URL: databaseUrl,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(smtpPort),
    FRONTEND_URL: 'https://app.tessera.test',
    LOG_LEVEL: 'warn',
    DB_POOL_MAX: String(LIMITS.poolMax),
    DB_ACQUIRE_TIMEOUT_MS: String(LIMITS.acquireMs),
    DB_CONNECT_TIMEOUT_MS: String(LIMITS.connectMs),
    DB_STATEMENT_TIMEOUT_MS: String(LIMITS.statementMs),
    // no eviction: every session the load was given must stay until a reset
    SESSION_LIMIT: '1000',
    // one argon2 at a time: two would take both cores from PostgreSQL and
    // the event loop, and starved connection set-ups would time out
    HASH_CONCURRENCY: '1',
    SIGNIN_IP_LIMIT: '100000',
    SIGNIN_EMAIL_LIMIT: '100000',
    SIGNIN_IP_EMAIL_LIMIT: '100000',
    MAIL_IP_LIMIT: '100000',
    MAIL_EMAIL_LIMIT: '100000',
    TOKEN_IP_LIMIT: '100000',
    // the job queue at test speed: a job of a killed process is taken up
    // again after 8 s (longer than one SMTP greeting timeout), retries back
    // off from 1 s to at most 4 s
    JOB_TIMEOUT: '8s',
    JOB_SUPERVISE_INTERVAL: '1s',
    JOB_RETRY_DELAY: '1s',
    JOB_RETRY_DELAY_MAX: '4s',
    JOB_POLL_MS: '200',
    LIMITER_STORE: redisUrl ? 'redis' : 'database',
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
  }
}

/**
 * Users made through the API as a client would: sign-up, then the link
 * from the verification mail.
 */
async function createUsers(cluster: FaultCluster, url: string, mailbox: Mailbox, count: number) {
  const run = randomBytes(3).toString('hex')
  const users: Array<{ email: string; password: string }> = []
  // a few at a time: a burst of argon2 sign-ups on a cold pool with 1 s
  // timeouts would (rightly) get 503s
  for (let first = 0; first < count; first += 3) {
    const batch = Array.from({ length: Math.min(3, count - first) }, (_, offset) => ({
      email: `load-${run}-${first + offset}@example.com`,
      password: newPassword(),
    }))
    await Promise.all(
      batch.map(async ({ email, password }) => {
        await post(url, '/api/v1/auth/signup', { email, password }, [202])
        await mailbox.waitFor(email, /Confirm your email|already have an account/, 15_000)
        const mails = mailbox.to(email)
        const token = /token=(evt_[A-Za-z0-9_.-]+)/.exec(mails[mails.length - 1].text)?.[1]
        // 400 only when a retried verification had already been applied
        await post(url, '/api/v1/auth/email/verify', { token }, [200, 400])
      })
    )
    users.push(...batch)
  }
  const rows = await cluster.query<{ id: number; email: string; verified: boolean }>(
    'select id::int, email, email_verified_at is not null as verified from users where email = any($1)',
    [users.map((user) => user.email)]
  )
  return users.map((user) => {
    const row = rows.find((candidate) => candidate.email === user.email)
    if (!row?.verified) throw new Error(`setup: ${user.email} was not created and verified`)
    return new LoadUser(row.id, user.email, user.password)
  })
}

/**
 * A set-up request: retried (a bounded number of times) while the service
 * answers 503, then it must answer one of `expected`.
 */
export async function post(url: string, path: string, body: unknown, expected: number[]) {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'accept': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    })
    const text = await response.text()
    if (response.status === 503 && attempt < 5) {
      await sleep(500 * attempt)
      continue
    }
    if (!expected.includes(response.status)) {
      throw new Error(`${path} answered ${response.status} (expected ${expected}): ${text}`)
    }
    return text
  }
}

function histogram(outcomes: Outcome[]) {
  const counts = new Map<string, number>()
  for (const outcome of outcomes) {
    const key = outcome.failure ?? String(outcome.status)
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return [...counts].map(([key, count]) => `${key}×${count}`).join(' ') || 'none'
}

export function describeCounts(outcomes: Outcome[]) {
  const kinds = [...new Set(outcomes.map((outcome) => outcome.kind))]
  return (
    kinds
      .map((kind) => `${kind} ${histogram(outcomes.filter((outcome) => outcome.kind === kind))}`)
      .join('; ') || 'none'
  )
}

function summarizeLogs(entries: LogEntry[]) {
  const counts = new Map<string, number>()
  for (const entry of entries) {
    const key = [entry.msg?.split('\n')[0], entry.err?.name, entry.err?.code, entry.err?.message]
      .filter(Boolean)
      .join(' / ')
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return [...counts].map(([key, count]) => `${count}× ${key}`).join('; ') || 'none'
}

/**
 * The server's error lines written while a request ran.
 */
function evidence(logs: LogEntry[], outcome: Outcome) {
  const near = logs.filter(
    (entry) =>
      entry.level >= LOG_LEVEL.error &&
      entry.time >= outcome.startedAt - 50 &&
      entry.time <= outcome.endedAt + 50
  )
  return near.length > 0 ? summarizeLogs(near) : 'no error line'
}

/**
 * Waits (bounded) until `condition` holds; false at the deadline.
 */
export async function waitUntil(condition: () => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) return false
    await sleep(5)
  }
  return true
}
