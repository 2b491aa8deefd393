import { randomUUID } from 'node:crypto'
import { PgBoss, type JobAttempt, type JobWithMetadata } from 'pg-boss'
import type pg from 'pg'
import type { TransactionClientContract } from '@adonisjs/lucid/types/database'
import app from '@adonisjs/core/services/app'
import logger from '@adonisjs/core/services/logger'
import dbConfig from '#config/database'
import settings, { type Settings } from '#config/setting'
import ServiceUnavailableException from '#exceptions/service_unavailable_exception'
import { afterCommitted } from '#services/transactions'
import { errorSummary, throttledWarning } from '#services/outage_log'

/** The queue every account mail goes through. */
export const QUEUE = 'account-mail'

/**
 * What a job carries: its kind and the ids or address its handler looks
 * up, plus `key`, a random name that stays with the job across retries
 * (tokens it issues are named after it). Never a token, a link or a
 * password: those are made by the handler, when it runs.
 */
export type JobData = { kind: string; key: string } & Record<string, string | number>

/**
 * Runs one job: throws to have it retried (then dead-lettered).
 */
export type JobHandler = (data: JobData) => Promise<void>

/**
 * How one run of a job ended: `completed` (its work done), `retry` (it
 * failed and will run again after its backoff), `dead` (it failed its
 * last try and was dead-lettered).
 */
export type RunOutcome = { kind: string; outcome: 'completed' | 'retry' | 'dead' }

/**
 * The queue's jobs by state, as of pg-boss's last monitor pass: `ready`
 * to run now, `deferred` waiting for a retry's backoff, `active` running,
 * `dead` dead-lettered and waiting for `jobs:retry`.
 */
export type JobCounts = { ready: number; deferred: number; active: number; dead: number }

/** A dead-lettered job as an operator sees it. */
export type DeadLetter = {
  id: string
  kind: string
  failedAt: Date
  sourceId: string | null
  recipientDomain: string | null
}

type Options = {
  /** pg-boss queue name; its dead letters go to `<queue>-dead`. */
  queue: string
  connectionString: string
  statementTimeoutMs: number
  connectTimeoutMs: number
  /** Runs pg-boss's maintenance (expiring jobs of dead processes, pruning). */
  supervise: boolean
  /**
   * Polls for jobs even when this process has enqueued none (other
   * instances may have). Off in the test runner, the only process taking
   * its own jobs, so that tests counting statements see only theirs.
   */
  pollWhenIdle: boolean
  /** DATABASE_URL is a pooler (config/setting.ts `database.pooler`). */
  pooled: boolean
  jobs: Settings['jobs']
}

/**
 * Work that follows a response instead of preceding it — issuing the token
 * of a link and mailing it, mailing a notice — as jobs in PostgreSQL
 * (pg-boss, schema `pgboss`), not in process memory (SECURITY.md F6). A
 * request commits its job before it answers, so a 202 survives the
 * process: a SIGKILLed instance's jobs are taken up by the next one (after
 * `jobs.timeout` for one that was running), a stopping one finishes or
 * releases the jobs in hand (`stop()`).
 *
 * A request for a known address and one for an unknown address enqueue
 * the same job: the handler looks the address up, so neither the answer
 * nor the statements before it tell them apart (A2).
 *
 * A failed job is retried with exponential backoff, then dead-lettered
 * (queue `account-mail-dead`) and logged by its kind — never with an
 * address, a token or a link. Each process runs at most
 * `jobs.concurrency` jobs at once.
 */
export class Background {
  #options: Options
  #boss?: Promise<PgBoss>
  /** Jobs this process enqueued that have not completed or been dead-lettered. */
  #mine = new Set<string>()
  #idleWaiters: Array<() => void> = []
  #paused: { promise: Promise<void>; resume: () => void } | null = null
  #handler?: JobHandler
  #running = false
  /** Set by `stop()`: nothing starts or reconnects afterwards. */
  #stopped = false
  #loop?: Promise<void>
  /**
   * The runs in progress, by attempt (`<job id>:<retryCount>`), not by job:
   * a job whose claim expired while it still runs here can be fetched
   * again, and then two runs of it are in hand at once.
   */
  #inHand = new Map<string, { attempt: JobAttempt; work: Promise<void> }>()
  #wake?: () => void
  /** At most one warning every 10 s while the queue's database is unreachable. */
  #warnPoll = throttledWarning('job queue unavailable, will try again')
  /** Until when to poll although this process enqueued nothing (after a redrive). */
  #pollUntil = 0
  #outcomeListeners: Array<(outcome: RunOutcome) => void> = []

  constructor(options: Options) {
    this.#options = options
  }

  /** The queue's name. */
  get queue() {
    return this.#options.queue
  }

  /** Where a job lands once its retries are used up, for an operator to see and retry. */
  get deadLetterQueue() {
    return `${this.#options.queue}-dead`
  }

  /**
   * Commits a job of `kind` with `data` (ids or an address, never a
   * secret) to the queue and wakes this process's worker. Jobs with the
   * same `serialKey` never run at the same time (pg-boss's `singleton`
   * policy): one account's mails leave one after another, so two links of
   * one address are never issued and sent crosswise. The order is the
   * enqueue order except around a retry: a job waiting for its backoff
   * does not hold back a newer one (which then issues the newer link).
   * Without a key, a job runs alongside any other.
   *
   * Given `trx`, the job is written inside that transaction and commits or
   * rolls back with the change it mails about: a process killed, or a
   * database lost, between a change's commit and its job's would otherwise
   * leave the change made (answered 503, or not at all) and its mail
   * never sent (SECURITY.md F5, F6).
   *
   * @throws the database's error when the job could not be stored (the
   *   request then answers 503: nothing was accepted).
   */
  async enqueue(
    kind: string,
    data: Record<string, string | number>,
    serialKey?: string,
    trx?: TransactionClientContract
  ) {
    const boss = await this.#started()
    const jobs = this.#options.jobs
    const key = randomUUID()
    const id = await boss.send(
      this.queue,
      { ...data, kind, key },
      {
        singletonKey: serialKey ?? key,
        retryLimit: jobs.retryLimit,
        retryDelay: jobs.retryDelay,
        retryBackoff: true,
        retryDelayMax: jobs.retryDelayMax,
        expireInSeconds: jobs.timeout,
        heartbeatSeconds: jobs.heartbeat,
        deadLetter: this.deadLetterQueue,
        ...(trx ? { db: await executorIn(trx) } : {}),
      }
    )
    const accepted = () => {
      if (id) this.#mine.add(id)
      this.#wake?.()
    }
    if (trx) afterCommitted(trx, accepted)
    else accepted()
  }

  /**
   * Calls `listener` after each run of a job in this process ends (the
   * metrics count them). A listener's error is its own.
   */
  onRunOutcome(listener: (outcome: RunOutcome) => void) {
    this.#outcomeListeners.push(listener)
  }

  /**
   * The queue's jobs by state (see `JobCounts`), as of pg-boss's last
   * monitor pass (every `jobs.superviseInterval` seconds, by whichever
   * instance runs it): one indexed read of pg-boss's queue table.
   *
   * @throws the database's error when the queue's table cannot be read.
   */
  async counts(): Promise<JobCounts> {
    const boss = await this.#started()
    const [queue, dead] = await Promise.all([
      boss.getQueue(this.queue),
      boss.getQueue(this.deadLetterQueue),
    ])
    return {
      ready: queue?.readyCount ?? 0,
      deferred: queue?.deferredCount ?? 0,
      active: queue?.activeCount ?? 0,
      dead: dead?.queuedCount ?? 0,
    }
  }

  /**
   * Jobs this process enqueued that have not completed or been
   * dead-lettered (tests read it).
   */
  get pending() {
    return this.#mine.size
  }

  /**
   * Holds the worker back — no job is fetched or started, no statement is
   * sent — until the returned function is called: the security tests use
   * it to measure exactly what a request does before its response.
   */
  pause() {
    if (!this.#paused) {
      let resume!: () => void
      const promise = new Promise<void>((resolve) => (resume = resolve))
      this.#paused = { promise, resume }
    }
    return () => {
      const paused = this.#paused
      this.#paused = null
      paused?.resume()
      this.#wake?.()
    }
  }

  /**
   * Resolves once every job this process enqueued has completed or been
   * dead-lettered.
   */
  idle() {
    if (this.#mine.size === 0) return Promise.resolve()
    return new Promise<void>((resolve) => this.#idleWaiters.push(resolve))
  }

  /**
   * Connects to the queue's tables (installing or upgrading them if the
   * migration has not) and makes its queues. Called at boot by the
   * processes that run a worker; others connect on first use.
   *
   * @throws the database's error when it cannot be reached.
   */
  async start() {
    await this.#started()
  }

  /**
   * Starts this process's worker: it fetches up to `jobs.concurrency` jobs
   * at a time and runs each through `handler`. Only the web server and the
   * test runner call it; one-off commands do not take jobs.
   */
  startWorkers(handler: JobHandler) {
    // a stop() may come first: the server answers (and can be told to stop)
    // while the provider's ready hook is still connecting the queue
    if (this.#running || this.#stopped) return
    this.#handler = handler
    this.#running = true
    this.#loop = this.#work()
  }

  /**
   * Stops taking jobs, waits up to `timeoutMs` (milliseconds) for the jobs
   * in hand, then releases those still running (they are retried by any
   * instance; one whose mail still leaves is mailed again, with a link that
   * supersedes) and closes the queue's connections. For the shutdown path,
   * after the HTTP server has drained. Never throws.
   */
  async stop(timeoutMs = 10_000) {
    this.#stopped = true
    this.#running = false
    this.#wake?.()
    this.#paused?.resume()
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref())
    const runs = [...this.#inHand.values()].map((run) => run.work)
    await Promise.race([Promise.all([this.#loop, ...runs]), deadline])
    const boss = this.#boss ? await this.#boss.catch(() => undefined) : undefined
    this.#boss = undefined
    if (!boss) return
    /**
     * Counted as a failed try: retried after its backoff, by any instance.
     * Released by attempt, so a run whose claim already expired (and that
     * another instance may have taken up) leaves that newer attempt alone.
     */
    for (const { attempt } of this.#inHand.values()) {
      await boss
        .fail(this.queue, attempt, { error: { name: 'Released', code: 'SHUTDOWN' } })
        .catch(() => {})
    }
    // pg-boss's stop waits for a maintenance pass in flight; past a second,
    // its connections are closed under it (the pass fails, harmlessly)
    const stopped = boss.stop({ graceful: false, close: true }).then(
      () => true,
      () => true
    )
    const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1000).unref())
    if (!(await Promise.race([stopped, timer]))) {
      await (boss.getDb() as { close?: () => Promise<void> }).close?.().catch(() => {})
      await stopped
    }
  }

  /**
   * The dead-lettered jobs, oldest first (at most `limit`).
   */
  async deadLetters(limit = 1000): Promise<DeadLetter[]> {
    const boss = await this.#started()
    const jobs = await boss.findJobs<JobData>(this.deadLetterQueue, { limit })
    return jobs.map((job) => ({
      id: job.id,
      kind: String(job.data?.kind),
      failedAt: job.createdOn,
      sourceId: job.sourceId,
      recipientDomain: domainOf(job.data),
    }))
  }

  /**
   * Moves dead-lettered jobs (those in `ids`, or all) back to the queue,
   * with their retries renewed. Returns how many moved.
   */
  async retryDeadLetters(ids?: string[]) {
    const boss = await this.#started()
    let moved = 0
    for (;;) {
      const count = await boss.redrive(this.deadLetterQueue, ids ? { ids } : {})
      moved += count
      this.#pollUntil = Date.now() + 60_000
      this.#wake?.()
      if (ids || count === 0) return moved
    }
  }

  async #started() {
    if (this.#stopped) throw new ServiceUnavailableException()
    this.#boss ??= this.#start().catch((error) => {
      this.#boss = undefined
      throw error
    })
    return this.#boss
  }

  async #start() {
    const { jobs, supervise } = this.#options
    const boss = new PgBoss({
      connectionString: this.#options.connectionString,
      application_name: 'tessera-jobs',
      max: jobs.poolMax,
      connectionTimeoutMillis: this.#options.connectTimeoutMs,
      /**
       * A pooler (PgBouncer) refuses startup parameters: behind one, the
       * statement timeout is the client-side one below.
       */
      ...(this.#options.pooled
        ? {}
        : { options: `-c statement_timeout=${this.#options.statementTimeoutMs}` }),
      // bounded on our side too: a frozen server never answers the statement
      // timeout (SECURITY.md F1), and a request's enqueue must not hang
      ...({ query_timeout: this.#options.statementTimeoutMs + 1000 } as {}),
      supervise,
      superviseIntervalSeconds: jobs.superviseInterval,
      monitorIntervalSeconds: jobs.superviseInterval,
      // the queues are made once, below: no need to re-read them every minute
      queueCacheIntervalSeconds: 24 * 3600,
      // maintenance does what F6 needs (expiring jobs of dead processes,
      // pruning) and no more, so a pass is short and never holds a stop up
      reindex: false,
      monitorVacuum: false,
      schedule: false,
      registerInstance: false,
      openTelemetry: { enabled: false },
    })
    boss.on('error', (error) => this.#warnPoll(error))
    await boss.start()
    /**
     * `singleton`: one running job per key (see `enqueue`); dead letters
     * wait, untaken, for an operator.
     */
    const queues = [
      { name: this.deadLetterQueue, policy: 'standard' },
      { name: this.queue, policy: 'singleton' },
    ]
    for (const { name, policy } of queues) {
      if (!(await boss.getQueue(name))) {
        await boss.createQueue(name, { policy }).catch(async (error) => {
          if (!(await boss.getQueue(name))) throw error
        })
      }
    }
    return boss
  }

  async #work() {
    while (this.#running) {
      /**
       * Each pass starts in a macrotask of its own, so the check below and
       * the fetch's statement are never split by a caller's `pause()`
       * running between them (a resume or a wake-up would otherwise
       * continue this loop inside the caller's own chain of promises).
       */
      await new Promise((resolve) => setImmediate(resolve))
      if (this.#paused) {
        await this.#whilePaused()
        continue
      }
      const free = this.#options.jobs.concurrency - this.#inHand.size
      const expecting =
        this.#options.pollWhenIdle || this.#mine.size > 0 || Date.now() < this.#pollUntil
      if (free <= 0 || !expecting) {
        await this.#sleep(this.#options.jobs.pollMs)
        continue
      }
      let jobs: JobWithMetadata<JobData>[] = []
      try {
        const boss = await this.#started()
        jobs = await boss.fetch<JobData>(this.queue, { batchSize: free, includeMetadata: true })
      } catch (error) {
        this.#warnPoll(error)
        await this.#sleep(Math.max(this.#options.jobs.pollMs, 1000))
        continue
      }
      if (jobs.length === 0) {
        await this.#sleep(this.#options.jobs.pollMs)
        continue
      }
      // fetched just as the tests paused: held until they resume
      await this.#whilePaused()
      for (const job of jobs) {
        const attempt = { id: job.id, retryCount: job.retryCount }
        const runKey = `${job.id}:${job.retryCount}`
        const work = this.#run(job, attempt).finally(() => {
          this.#inHand.delete(runKey)
          this.#wake?.()
        })
        this.#inHand.set(runKey, { attempt, work })
      }
    }
  }

  /**
   * Runs one attempt while refreshing its heartbeat (every `jobs.heartbeat / 2`
   * seconds, fenced to this attempt): a process that dies mid-run stops
   * refreshing it, and maintenance hands the job to another run once the
   * heartbeat is `jobs.heartbeat` seconds old, not after the whole
   * `jobs.timeout`.
   */
  async #run(job: JobWithMetadata<JobData>, attempt: JobAttempt) {
    const boss = await this.#started()
    const heartbeat = setInterval(
      () => {
        // after stop() the queue's connections are gone; a released run may still be finishing
        if (!this.#boss) return
        boss.touch(this.queue, attempt).catch((error) => this.#warnPoll(error))
      },
      (this.#options.jobs.heartbeat * 1000) / 2
    ).unref()
    try {
      await this.#attempt(boss, job, attempt)
    } finally {
      clearInterval(heartbeat)
    }
  }

  async #attempt(boss: PgBoss, job: JobWithMetadata<JobData>, attempt: JobAttempt) {
    try {
      await this.#handler!(job.data)
    } catch (error) {
      const final = job.retryCount >= job.retryLimit
      const context = {
        job: job.data?.kind,
        jobId: job.id,
        attempt: job.retryCount + 1,
        recipientDomain:
          domainOf(job.data) ??
          (error as { recipientDomain?: string })?.recipientDomain ??
          undefined,
        err: errorSummary(error),
      }
      if (final) logger.error(context, 'background job failed, dead-lettered')
      else logger.warn(context, 'background job failed, will retry')
      this.#tell(job, final ? 'dead' : 'retry')
      try {
        await boss.fail(this.queue, attempt, { error: errorSummary(error) })
        if (final) this.#settle(job.id)
      } catch (failError) {
        // the job stays active and is retried once it times out
        this.#warnPoll(failError)
      }
      return
    }
    /**
     * The mail has left: recording that is what keeps the job from running
     * again and mailing a second link (which would kill the first, already
     * in the user's mailbox). So a database that is briefly unreachable is
     * waited for, as long as the job's claim lasts; after that, another run
     * will take it up anyway (and a new link supersedes the one just
     * mailed: at most one works).
     */
    this.#tell(job, 'completed')
    const until = Date.now() + this.#options.jobs.timeout * 1000
    for (let wait = 250; ; wait = Math.min(wait * 2, 2000)) {
      try {
        await boss.complete(this.queue, attempt)
        this.#settle(job.id)
        return
      } catch (error) {
        if (Date.now() + wait >= until) {
          logger.warn(
            { job: job.data?.kind, jobId: job.id, err: errorSummary(error) },
            'background job done but not recorded'
          )
          return
        }
        await new Promise((resolve) => setTimeout(resolve, wait))
      }
    }
  }

  #tell(job: JobWithMetadata<JobData>, outcome: RunOutcome['outcome']) {
    const kind = String(job.data?.kind)
    for (const listener of this.#outcomeListeners) {
      try {
        listener({ kind, outcome })
      } catch {}
    }
  }

  #whilePaused() {
    return this.#paused?.promise
  }

  #settle(id: string) {
    if (!this.#mine.delete(id)) return
    if (this.#mine.size === 0) for (const wake of this.#idleWaiters.splice(0)) wake()
  }

  #sleep(ms: number) {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.#wake = done
    }).finally(() => (this.#wake = undefined))
  }
}

/**
 * pg-boss's statements, run on the connection of a Lucid transaction (as
 * they are written: `$1` placeholders, which knex would rewrite).
 */
async function executorIn(trx: TransactionClientContract) {
  const knex = trx.knexClient as unknown as {
    client: { acquireConnection(): Promise<pg.ClientBase> }
  }
  const connection = await knex.client.acquireConnection()
  return {
    executeSql: (text: string, values?: unknown[]) => connection.query(text, values),
  }
}

function domainOf(data: JobData | undefined) {
  const email = data?.email
  return typeof email === 'string' ? email.slice(email.lastIndexOf('@') + 1) : null
}

/**
 * The app's queue, on the database Lucid uses (its own small pool, named
 * `tessera-jobs`, with the same connect and statement timeouts). pg-boss's
 * maintenance runs in every process but the test runner's, whose statements
 * the security tests count.
 */
const connection = dbConfig.connections.postgres.connection as {
  connectionString: string
  connectionTimeoutMillis: number
  statement_timeout: number
}
const background = new Background({
  queue: QUEUE,
  connectionString: connection.connectionString,
  statementTimeoutMs: connection.statement_timeout,
  connectTimeoutMs: connection.connectionTimeoutMillis,
  supervise: !app.inTest,
  pollWhenIdle: !app.inTest,
  pooled: settings.database.pooler !== 'none',
  jobs: settings.jobs,
})
export default background
