import { randomBytes } from 'node:crypto'
import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import dbConfig from '#config/database'
import settings from '#config/setting'
import appBackground, { Background, type JobData } from '#services/background'
import { inTransaction } from '#services/transactions'
import { recordQueries } from '#tests/security/helpers/queries'

/**
 * The job queue (app/services/background.ts) on the suite's PostgreSQL,
 * each test on a queue of its own so the app's worker never takes its
 * jobs. The handlers are plain functions: what is under test is when, how
 * often and how many at once the queue runs them, and what it keeps.
 */

const connection = dbConfig.connections.postgres.connection as {
  connectionString: string
  connectionTimeoutMillis: number
  statement_timeout: number
}

function queue(
  overrides: Partial<typeof settings.jobs> = {},
  name = `test-${randomBytes(4).toString('hex')}`,
  supervise = false
) {
  return new Background({
    queue: name,
    connectionString: connection.connectionString,
    statementTimeoutMs: connection.statement_timeout,
    connectTimeoutMs: connection.connectionTimeoutMillis,
    supervise,
    pollWhenIdle: true,
    pooled: false,
    jobs: { ...settings.jobs, pollMs: 20, retryDelay: 1, retryLimit: 2, ...overrides },
  })
}

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

async function until(condition: () => boolean, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await sleep(10)
  }
}

test.group('Background | job queue', () => {
  test('runs an enqueued job once with its data, and idle() waits for it', async ({
    assert,
    cleanup,
  }) => {
    const background = queue()
    cleanup(() => background.stop())
    const seen: JobData[] = []
    background.startWorkers(async (job) => {
      await sleep(50)
      seen.push(job)
    })
    await background.enqueue('greeting', { userId: 7 })
    assert.equal(background.pending, 1)
    await background.idle()
    assert.equal(background.pending, 0)
    assert.lengthOf(seen, 1)
    assert.equal(seen[0].kind, 'greeting')
    assert.equal(seen[0].userId, 7)
    assert.match(seen[0].key, /^[0-9a-f-]{36}$/)
    await sleep(200)
    assert.lengthOf(seen, 1, 'a completed job never runs again')
  })

  test('retries a failing job with the same key until it succeeds', async ({ assert, cleanup }) => {
    const background = queue({ retryLimit: 3 })
    cleanup(() => background.stop())
    const keys: string[] = []
    background.startWorkers(async (job) => {
      keys.push(job.key)
      if (keys.length < 2) throw new Error('transient')
    })
    await background.enqueue('flaky', {})
    await background.idle()
    assert.lengthOf(keys, 2)
    assert.equal(keys[0], keys[1], 'a retry keeps the job key (tokens are named after it)')
    assert.deepEqual(await background.deadLetters(), [])
  })

  test('dead-letters a job whose retries are used up; an operator retry runs it again', async ({
    assert,
    cleanup,
  }) => {
    const background = queue({ retryLimit: 1 })
    cleanup(() => background.stop())
    let broken = true
    let runs = 0
    let done = 0
    background.startWorkers(async () => {
      runs++
      if (broken) throw new Error('smtp down')
      done++
    })
    await background.enqueue('reset_link', { email: 'ada@dead.example.com' })
    await background.idle()
    assert.equal(runs, 2, 'the first try and one retry')
    const dead = await background.deadLetters()
    assert.lengthOf(dead, 1)
    assert.equal(dead[0].kind, 'reset_link')
    assert.equal(dead[0].recipientDomain, 'dead.example.com')

    broken = false
    assert.equal(await background.retryDeadLetters(), 1)
    await until(() => done === 1)
    assert.deepEqual(await background.deadLetters(), [])
  })

  test('a paused worker takes no job and sends no statement', async ({ assert, cleanup }) => {
    const background = queue()
    cleanup(() => background.stop())
    let runs = 0
    background.startWorkers(async () => {
      runs++
    })
    await background.enqueue('first', {})
    await background.idle()
    // the app's own worker polls in this process too: hold it as well
    const resumeApp = appBackground.pause()
    const resume = background.pause()
    try {
      await background.enqueue('held', {})
      const [statements] = await recordQueries(() => sleep(300))
      assert.deepEqual(statements, [], 'the worker polled while paused')
      assert.equal(runs, 1)
      assert.equal(background.pending, 1)
    } finally {
      resume()
      resumeApp()
    }
    await background.idle()
    assert.equal(runs, 2)
  })

  test('runs at most `concurrency` jobs at once, and every one of a burst', async ({
    assert,
    cleanup,
  }) => {
    const background = queue({ concurrency: 2 })
    cleanup(() => background.stop())
    let running = 0
    let most = 0
    let done = 0
    background.startWorkers(async () => {
      running++
      most = Math.max(most, running)
      await sleep(60)
      running--
      done++
    })
    for (let index = 0; index < 7; index++) await background.enqueue('burst', { index })
    await background.idle()
    assert.equal(done, 7)
    assert.equal(most, 2)
  })

  test('stop() releases a job still in hand after its deadline; another worker runs it', async ({
    assert,
    cleanup,
  }) => {
    const name = `test-${randomBytes(4).toString('hex')}`
    const first = queue({}, name)
    const second = queue({}, name)
    cleanup(() => second.stop())
    let started = 0
    first.startWorkers(async () => {
      started++
      await new Promise(() => {}) // never finishes, like a send cut by SIGTERM
    })
    await first.enqueue('stuck', {})
    await until(() => started === 1)
    const stopping = Date.now()
    await first.stop(200)
    assert.isBelow(Date.now() - stopping, 2000, 'stop() waits no longer than its deadline')

    let finished = 0
    second.startWorkers(async () => {
      finished++
    })
    await until(() => finished === 1, 8000)
    assert.equal(started, 1)
  }).timeout(15_000)

  test('a job whose claim expired while it runs is run again beside it; stop() waits for both runs', async ({
    assert,
  }) => {
    // a claim of 1 s, expired by this process's own maintenance every second
    const background = queue(
      { timeout: 1, superviseInterval: 1, retryDelay: 1 },
      `test-${randomBytes(4).toString('hex')}`,
      true
    )
    const releases: Array<() => void> = []
    background.startWorkers(async () => {
      await new Promise<void>((resolve) => releases.push(resolve))
    })
    await background.enqueue('slow', {})
    await until(() => releases.length === 2, 15_000)
    // the first run ends; the second, a retry of the same job, still runs
    releases[0]()
    await sleep(100)
    let stopped = false
    const stopping = background.stop(10_000).then(() => (stopped = true))
    await sleep(500)
    assert.isFalse(stopped, 'stop() did not wait for the second run of the job')
    releases[1]()
    await stopping
    assert.isTrue(stopped)
  }).timeout(30_000)

  test('a job written in a transaction whose COMMIT fails is neither stored nor counted as pending', async ({
    assert,
    cleanup,
  }) => {
    const background = queue()
    cleanup(() => background.stop())
    // a deferred constraint: every statement succeeds, the COMMIT fails
    const table = `deferred_${randomBytes(4).toString('hex')}`
    await db.rawQuery(`create table ${table} (id int unique deferrable initially deferred)`)
    cleanup(() => db.rawQuery(`drop table ${table}`))
    await assert.rejects(() =>
      inTransaction(async (trx) => {
        await trx.rawQuery(`insert into ${table} values (1), (1)`)
        await background.enqueue('doomed', {}, undefined, trx)
      })
    )
    await sleep(50)
    assert.equal(background.pending, 0, 'a job that never committed is waited for')
    const stored = await db.rawQuery('select count(*)::int as n from pgboss.job where name = ?', [
      background.queue,
    ])
    assert.equal(stored.rows[0].n, 0)
  })

  test('reports each run outcome, and counts dead letters after a monitor pass', async ({
    assert,
    cleanup,
  }) => {
    const background = queue(
      { retryLimit: 1, superviseInterval: 1 },
      `test-${randomBytes(4).toString('hex')}`,
      true
    )
    cleanup(() => background.stop())
    const outcomes: string[] = []
    background.onRunOutcome(({ kind, outcome }) => outcomes.push(`${kind}:${outcome}`))
    let runs = 0
    background.startWorkers(async (job) => {
      runs++
      if (job.kind === 'broken') throw new Error('smtp down')
    })
    await background.enqueue('fine', {})
    await background.enqueue('broken', {})
    await background.idle()
    assert.equal(runs, 3)
    assert.sameMembers(outcomes, ['fine:completed', 'broken:retry', 'broken:dead'])

    // the counts are pg-boss's, refreshed by its monitor (every second here)
    let counts = await background.counts()
    for (let waited = 0; counts.dead === 0 && waited < 5000; waited += 100) {
      await sleep(100)
      counts = await background.counts()
    }
    assert.deepEqual(counts, { ready: 0, deferred: 0, active: 0, dead: 1 })
  }).timeout(15_000)

  test('a queue stopped before its worker started never starts it nor takes a job', async ({
    assert,
  }) => {
    const background = queue()
    await background.start()
    // the shutdown path can run while the ready hook is still connecting
    await background.stop(100)
    let runs = 0
    background.startWorkers(async () => {
      runs++
    })
    await assert.rejects(() => background.enqueue('late', {}), /temporarily unavailable/)
    await sleep(200)
    assert.equal(runs, 0)
  })
})
