import { randomBytes } from 'node:crypto'
import { test } from '@japa/runner'
import type { Assert } from '@japa/assert'
import Harness, { post, waitUntil } from '#tests/faults/helpers/harness'
import { sleep } from '#tests/faults/helpers/processes'
import { runAce } from '#tests/helpers/service_process'

const RESET_SUBJECT = /Reset your password/
const FAILED = 'background job failed, will retry'
const DEAD = 'background job failed, dead-lettered'

/**
 * Accounts (unverified, which forgot-password serves too) on a domain of
 * their own, and as many addresses without an account.
 */
async function accounts(harness: Harness, tag: string, size = 4) {
  const { domain, known, unknown } = await harness.signUpOnOwnDomain(tag, size)
  /**
   * The domain's jobs by state. Jobs are serialised by address
   * (`singleton_key`).
   */
  const jobStates = async () => {
    const rows = await harness.cluster.query<{ state: string; count: number }>(
      `select state::text, count(*)::int as count from pgboss.job
        where name = 'account-mail' and singleton_key like $1 group by state`,
      [`%@${domain}`]
    )
    return Object.fromEntries(rows.map((row) => [row.state, row.count]))
  }
  // A mail received is not yet a job done: wait for the SMTP server's
  // answer to reach the service before any test breaks the connection.
  for (let waited = 0; ; waited += 100) {
    const states = await jobStates()
    if (Object.keys(states).every((state) => state === 'completed')) break
    if (waited > 15_000) throw new Error(`sign-up jobs not done: ${JSON.stringify(states)}`)
    await sleep(100)
  }
  const resetMails = (email: string) =>
    harness.mailbox.to(email).filter((mail) => RESET_SUBJECT.test(mail.subject))
  return {
    domain,
    known,
    unknown,
    resetMails,
    jobStates,
    /** Forgot-password for every address, each answered 202. */
    async forgotAll() {
      const bodies = await Promise.all(
        [...known, ...unknown].map((email) =>
          post(harness.service.url, '/api/v1/auth/password/forgot', { email }, [202])
        )
      )
      return new Set(bodies).size
    },
    logged(message: string) {
      return harness.service.logs.filter(
        (entry) => entry.msg === message && entry.recipientDomain === domain
      )
    },
  }
}

/**
 * Every known address got exactly one reset mail (waiting a while for a
 * second one), unknown addresses none, and each mailed link resets the
 * password: the one link there is works.
 */
async function assertEachDeliveredOnce(
  assert: Assert,
  harness: Harness,
  batch: Awaited<ReturnType<typeof accounts>>
) {
  await waitUntil(() => batch.known.every((email) => batch.resetMails(email).length > 0), 40_000)
  await sleep(3000)
  for (const email of batch.known) {
    assert.lengthOf(batch.resetMails(email), 1, `${email}: reset mails`)
  }
  for (const email of batch.unknown) {
    assert.lengthOf(batch.resetMails(email), 0, `${email} has no account but got mail`)
  }
  for (const email of batch.known) {
    const token = /token=(prt_[A-Za-z0-9_.-]+)/.exec(batch.resetMails(email)[0].text)?.[1]
    assert.exists(token, `${email}: no link in the mail`)
    await post(
      harness.service.url,
      '/api/v1/auth/password/reset',
      { token, password: `New-${randomBytes(6).toString('hex')}-passphrase` },
      [200]
    )
  }
}

/**
 * Forgot-password for every address of `batch` while the SMTP server
 * refuses (`close`) or hangs (`hang`); once `killWhen` resolves, the
 * service is SIGKILLed. A new process must then mail each known address
 * exactly once (see `assertEachDeliveredOnce`).
 */
async function assertDeliveredOnceAfterKill(
  assert: Assert,
  harness: Harness,
  batch: Awaited<ReturnType<typeof accounts>>,
  smtp: 'close' | 'hang',
  killWhen: () => Promise<unknown>
) {
  await (smtp === 'close' ? harness.gate.close() : harness.gate.hang())
  try {
    assert.equal(await batch.forgotAll(), 1, 'every forgot-password answer is the same')
    await killWhen()
    await harness.service.kill()
  } finally {
    await harness.gate.open()
  }
  for (const email of batch.known) assert.lengthOf(batch.resetMails(email), 0)

  await harness.service.start()
  await assertEachDeliveredOnce(assert, harness, batch)
}

/**
 * Resolves once every known address's job is claimed (its send waiting
 * for a greeting from the hanging SMTP server).
 */
async function allClaimed(batch: Awaited<ReturnType<typeof accounts>>) {
  for (let waited = 0; ; waited += 50) {
    const { active = 0 } = await batch.jobStates()
    if (active >= batch.known.length) return
    if (waited > 5000) throw new Error('the sends never started')
    await sleep(50)
  }
}

/**
 * SECURITY.md F6: nothing queued is lost. Reset links are asked for while
 * the SMTP server refuses or hangs, so their jobs are waiting (for a retry,
 * or in the middle of a send) when the service is SIGKILLed or SIGTERMed;
 * a new process then delivers every one of them exactly once, with a link
 * that works. A job whose retries run out is dead-lettered, listed by
 * `jobs:failed` and delivered once by `jobs:retry`.
 *
 * Job settings (tests/faults/helpers/harness.ts): a running job of a killed
 * process is taken up again after 8 s, retries back off from 1 s to 4 s,
 * and here a job is dead-lettered after its third retry.
 */
test.group('Faults | durable jobs', (group) => {
  let harness: Harness

  group.setup(async () => {
    harness = await Harness.start({
      name: 'queue',
      users: 2,
      resets: false,
      env: { JOB_RETRY_LIMIT: '3' },
    })
    return () => harness.stop()
  })

  test('F6: SIGKILLed while reset links wait on a refusing SMTP server; a new process mails each exactly once', async ({
    assert,
  }) => {
    const batch = await accounts(harness, 'sigkill')
    // killed once every job has been tried once and waits for its retry
    await assertDeliveredOnceAfterKill(assert, harness, batch, 'close', () =>
      waitUntil(() => batch.logged(FAILED).length >= batch.known.length, 10_000)
    )
    assert.deepEqual(batch.logged(DEAD), [])
  })

  test('F6: SIGTERMed while mails are being sent to a hanging SMTP server; the jobs are released and a new process mails each exactly once', async ({
    assert,
  }) => {
    const batch = await accounts(harness, 'sigterm')
    await harness.gate.hang()
    let exitedWithinMs = Number.POSITIVE_INFINITY
    try {
      assert.equal(await batch.forgotAll(), 1, 'every forgot-password answer is the same')
      // the sends are in hand, waiting for a greeting that never comes
      await waitUntil(() => harness.gate.connections > 0, 5000)
      await sleep(500)
      const pid = harness.service.pid!
      const from = Date.now()
      process.kill(pid, 'SIGTERM')
      await waitUntil(() => !harness.service.running, 10_000)
      exitedWithinMs = Date.now() - from
    } finally {
      await harness.gate.open()
    }
    assert.isBelow(exitedWithinMs, 5000, 'the service did not stop within its deadline')
    // released, not left to time out: the jobs wait for a retry
    const states = await harness.cluster.query<{ state: string; count: number }>(
      `select state::text, count(*)::int as count from pgboss.job
        where name = 'account-mail' and data->>'email' like $1 group by state`,
      [`%@${batch.domain}`]
    )
    assert.notInclude(
      states.map((row) => row.state),
      'active',
      `jobs left active after SIGTERM: ${JSON.stringify(states)}`
    )
    for (const email of batch.known) assert.lengthOf(batch.resetMails(email), 0)

    await harness.service.start()
    await assertEachDeliveredOnce(assert, harness, batch)
  })

  test('F6: SMTP down for longer than every retry: jobs are dead-lettered, listed, and mailed once by jobs:retry', async ({
    assert,
  }) => {
    const batch = await accounts(harness, 'dead')
    await harness.gate.close()
    try {
      assert.equal(await batch.forgotAll(), 1, 'every forgot-password answer is the same')
      // every job settled: failed for good (known addresses) or done (unknown)
      for (let waited = 0; waited < 30_000; waited += 200) {
        const states = await batch.jobStates()
        if (Object.keys(states).every((state) => ['failed', 'completed'].includes(state))) break
        await sleep(200)
      }
    } finally {
      await harness.gate.open()
    }
    assert.deepEqual(await batch.jobStates(), {
      failed: batch.known.length,
      completed: batch.known.length * 2,
    })
    assert.lengthOf(batch.logged(DEAD), batch.known.length)
    for (const email of batch.known) assert.lengthOf(batch.resetMails(email), 0)
    // one log line per failed try, none with an address
    assert.isAtLeast(batch.logged(FAILED).length, batch.known.length * 3)

    const env = { ...harness.service.env, HOST: '127.0.0.1', PORT: '0' }
    const listed = await runAce(['jobs:failed'], env)
    const ours = listed.split('\n').filter((line) => line.includes(batch.domain))
    assert.lengthOf(ours, batch.known.length, listed)
    for (const line of ours) assert.include(line, 'reset_link')
    assert.notInclude(listed, `@${batch.domain}`, 'jobs:failed printed an address')

    const retried = await runAce(['jobs:retry', '--all'], env)
    assert.match(retried, /Queued \d+ job\(s\) again/)
    await assertEachDeliveredOnce(assert, harness, batch)
    const after = await runAce(['jobs:failed'], env)
    assert.notInclude(after, batch.domain)
  })
})

/**
 * F6 behind PgBouncer in transaction mode (F8): the queue's own
 * statements, its maintenance (which takes up the jobs of a dead process)
 * and the jobs written in a request's transaction all go through the
 * pooler. Reset links are being sent to a hanging SMTP server — their jobs
 * active, claimed by the process — when it is SIGKILLed; the next process
 * takes them up once their claim runs out and mails each exactly once.
 */
test.group('Faults | durable jobs behind a transaction-mode pooler', (group) => {
  let harness: Harness

  group.setup(async () => {
    harness = await Harness.start({
      name: 'queue-pooled',
      users: 2,
      resets: false,
      pooler: 'transaction',
      env: { JOB_RETRY_LIMIT: '3' },
    })
    return () => harness.stop()
  })

  test('F6/F8: SIGKILLed mid-send behind PgBouncer; a new process takes the claimed jobs up and mails each exactly once', async ({
    assert,
  }) => {
    const batch = await accounts(harness, 'pooled-kill')
    await assertDeliveredOnceAfterKill(assert, harness, batch, 'hang', () => allClaimed(batch))
  })
})

/**
 * F6, crash recovery by heartbeat: the worker running a job refreshes its
 * heartbeat every JOB_HEARTBEAT / 2, and maintenance hands the job of a
 * process that died to another run once that heartbeat is JOB_HEARTBEAT
 * old. JOB_TIMEOUT is 300 s here, so only the heartbeat can bring a dead
 * process's jobs back within the test's 40 s, and only a refreshed one can
 * keep a send slower than JOB_HEARTBEAT from running twice.
 */
test.group('Faults | job heartbeats', (group) => {
  let harness: Harness

  group.setup(async () => {
    harness = await Harness.start({
      name: 'queue-heartbeat',
      users: 2,
      resets: false,
      env: { JOB_RETRY_LIMIT: '3', JOB_TIMEOUT: '300s', JOB_HEARTBEAT: '10s' },
    })
    return () => harness.stop()
  })

  test('F6: SIGKILLed mid-send; the jobs are taken up once their heartbeat is 10 s old, not after JOB_TIMEOUT', async ({
    assert,
  }) => {
    // assertEachDeliveredOnce waits at most 40 s for the mails
    const batch = await accounts(harness, 'heartbeat-kill')
    await assertDeliveredOnceAfterKill(assert, harness, batch, 'hang', () => allClaimed(batch))
  })

  test('F6: a send slower than the heartbeat runs once: its worker keeps the heartbeat fresh', async ({
    assert,
  }) => {
    const batch = await accounts(harness, 'heartbeat-slow')
    // each SMTP reply 3.5 s late: a send takes well over 10 s, yet no
    // single wait reaches the transport's own timeouts (5 s, 10 s)
    await harness.gate.slow(3500)
    try {
      assert.equal(await batch.forgotAll(), 1, 'every forgot-password answer is the same')
      for (let waited = 0; ; waited += 200) {
        const states = await batch.jobStates()
        if (Object.keys(states).every((state) => state === 'completed')) break
        if (waited > 90_000) throw new Error(`jobs not done: ${JSON.stringify(states)}`)
        await sleep(200)
      }
    } finally {
      await harness.gate.open()
    }
    const runs = await harness.cluster.query<{ retries: number; seconds: number }>(
      `select retry_count::int as retries,
              extract(epoch from completed_on - started_on)::float as seconds
         from pgboss.job
        where name = 'account-mail' and data->>'kind' = 'reset_link'
          and data->>'email' like $1`,
      [`%@${batch.domain}`]
    )
    assert.lengthOf(runs, batch.known.length + batch.unknown.length)
    const sends = runs.filter((run) => run.seconds > 10)
    assert.isAtLeast(sends.length, batch.known.length, 'no send outlasted the heartbeat')
    assert.deepEqual(
      runs.map((run) => run.retries),
      runs.map(() => 0),
      'a job was run again while its first run was still sending'
    )
    await assertEachDeliveredOnce(assert, harness, batch)
  })
})
