import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { test } from '@japa/runner'
import type { Assert } from '@japa/assert'
import Harness, { LIMITS } from '#tests/faults/helpers/harness'
import { newPassword } from '#tests/faults/helpers/load'
import { runAce } from '#tests/helpers/service_process'
import { sleep } from '#tests/faults/helpers/processes'

/**
 * SECURITY.md F8 with Debian's PgBouncer (1.18) between the service and
 * PostgreSQL, started by the suite with stock settings but for the pool
 * mode and the server pool size: in transaction mode 3, smaller than the
 * service's 5, so that the service's connections take turns on server
 * connections; in session mode 10, since each client connection holds one.
 *
 * Transaction mode is where things break: startup parameters are refused,
 * a named prepared statement lives on one server connection while the
 * next transaction gets another, session settings land on strangers'
 * transactions, and a session-scoped lock stays on whichever server
 * connection took it. Session mode must keep working as before.
 */

/** What a statement blocked by a lock may take, at most, to be answered 503. */
const CUT_OFF_MS = LIMITS.statementMs + 800

type Answer = { status: number; code?: string; body: any; ms: number }

/**
 * One request to the service, timed; the body parsed when it is JSON.
 */
async function call(
  harness: Harness,
  method: string,
  path: string,
  options: { body?: unknown; token?: string } = {}
): Promise<Answer> {
  const started = performance.now()
  const response = await fetch(`${harness.service.url}/api/v1${path}`, {
    method,
    headers: {
      accept: 'application/json',
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(30_000),
  })
  const text = await response.text()
  let body: any = text
  try {
    body = JSON.parse(text)
  } catch {}
  return {
    status: response.status,
    code: body?.errors?.[0]?.code,
    body,
    ms: Math.round(performance.now() - started),
  }
}

/**
 * The token of the newest mail to `email` whose subject matches, waiting
 * for it (bounded).
 */
async function mailedToken(harness: Harness, email: string, subject: RegExp, since: number) {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    const mail = harness.mailbox
      .to(email)
      .filter((message) => subject.test(message.subject))
      .at(since)
    const token = mail && /token=((?:evt|prt)_[A-Za-z0-9_.-]+)/.exec(mail.text)?.[1]
    if (token) return token
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`no mail "${subject}" #${since + 1} to ${email}`)
}

/**
 * A verified account made through the API, and its id.
 */
async function newAccount(harness: Harness, assert: Assert) {
  const email = `pooled-${randomBytes(4).toString('hex')}@example.com`
  const password = newPassword()
  const signup = await call(harness, 'POST', '/auth/signup', { body: { email, password } })
  assert.equal(signup.status, 202)
  const token = await mailedToken(harness, email, /Confirm your email/, 0)
  const verified = await call(harness, 'POST', '/auth/email/verify', { body: { token } })
  assert.equal(verified.status, 200)
  const [row] = await harness.cluster.query<{ id: number }>(
    'select id::int from users where email = $1',
    [email]
  )
  return { id: row.id, email, password }
}

/**
 * Every core flow once, as a client would run them, recording each answer:
 * sign-up, verification, two sign-ins, /me (20 at once, more than the
 * pool's connections), a profile change, the session list, a sign-out
 * seen by the next request, a password change, a reset through the mailed
 * link, and a sign-in with the new password. Returns "step status" lines.
 */
async function coreFlows(harness: Harness, assert: Assert) {
  const steps: string[] = []
  const step = (name: string, answer: Answer) => {
    steps.push(`${name} ${answer.status}${answer.code ? ` ${answer.code}` : ''}`)
    return answer
  }
  const account = await newAccount(harness, assert)
  steps.push('signup 202', 'verify 200')
  const signin = async (password: string): Promise<string> => {
    const answer = await call(harness, 'POST', '/auth/signin', {
      body: { email: account.email, password },
    })
    step('signin', answer)
    return answer.body?.data?.token
  }
  const first = await signin(account.password)
  const second = await signin(account.password)

  const burst = await Promise.all(
    Array.from({ length: 20 }, () => call(harness, 'GET', '/me', { token: first }))
  )
  steps.push(`me ×20 ${[...new Set(burst.map((answer) => answer.status))].join(',')}`)
  step('profile', await call(harness, 'PATCH', '/me', { token: first, body: { name: 'Pooled' } }))
  const sessions = step('sessions', await call(harness, 'GET', '/me/sessions', { token: first }))
  steps.push(`sessions listed ${sessions.body?.data?.length}`)
  step('signout', await call(harness, 'POST', '/auth/signout', { token: second }))
  step('me after signout', await call(harness, 'GET', '/me', { token: second }))
  step('other session', await call(harness, 'GET', '/me', { token: first }))

  const changed = newPassword()
  step(
    'password change',
    await call(harness, 'PUT', '/me/password', {
      token: first,
      body: { currentPassword: account.password, password: changed },
    })
  )
  step(
    'forgot',
    await call(harness, 'POST', '/auth/password/forgot', { body: { email: account.email } })
  )
  const resetToken = await mailedToken(harness, account.email, /Reset your password/, 0)
  const reset = newPassword()
  step(
    'reset',
    await call(harness, 'POST', '/auth/password/reset', {
      body: { token: resetToken, password: reset },
    })
  )
  step('me after reset', await call(harness, 'GET', '/me', { token: first }))
  const third = await signin(reset)
  step('me', await call(harness, 'GET', '/me', { token: third }))
  return steps
}

const EXPECTED_FLOWS = [
  'signup 202',
  'verify 200',
  'signin 200',
  'signin 200',
  'me ×20 200',
  'profile 200',
  'sessions 200',
  'sessions listed 2',
  'signout 204',
  'me after signout 401 E_UNAUTHORIZED_ACCESS',
  'other session 200',
  'password change 200',
  'forgot 202',
  'reset 200',
  'me after reset 401 E_UNAUTHORIZED_ACCESS',
  'signin 200',
  'me 200',
]

/**
 * Holds `select … for update` on the user's row, on a connection of the
 * suite's own straight to PostgreSQL, until the returned function ends it.
 */
async function lockUserRow(harness: Harness, userId: number) {
  const client = await harness.cluster.connect()
  await client.query('begin')
  await client.query('select id from users where id = $1 for update', [userId])
  return async () => {
    await client.query('rollback').catch(() => {})
    await client.end().catch(() => {})
  }
}

/** Lock requests PostgreSQL has not granted: a statement still waiting. */
async function waitingForLocks(harness: Harness) {
  const [row] = await harness.cluster.query<{ count: number }>(
    'select count(*)::int as count from pg_locks where not granted'
  )
  return row.count
}

/**
 * A sign-in whose token insertion waits on the user's row, locked by
 * someone else: answered 503 within the statement timeout, and the
 * statement no longer waiting on the server once the answer is out.
 */
async function assertSigninCutOff(harness: Harness, assert: Assert) {
  const account = await newAccount(harness, assert)
  const release = await lockUserRow(harness, account.id)
  try {
    const answer = await call(harness, 'POST', '/auth/signin', {
      body: { email: account.email, password: account.password },
    })
    assert.equal(answer.status, 503)
    assert.equal(answer.code, 'E_SERVICE_UNAVAILABLE')
    assert.isAtLeast(answer.ms, LIMITS.statementMs)
    assert.isAtMost(answer.ms, CUT_OFF_MS)
    assert.equal(await waitingForLocks(harness), 0, 'the statement still waits on the server')
  } finally {
    await release()
  }
  const after = await call(harness, 'POST', '/auth/signin', {
    body: { email: account.email, password: account.password },
  })
  assert.equal(after.status, 200)
}

test.group('Faults | PgBouncer in transaction mode', (group) => {
  let harness: Harness

  group.setup(async () => {
    harness = await Harness.start({ name: 'pgbouncer-transaction', pooler: 'transaction' })
    return () => harness.stop()
  })

  test('F8: every core flow works through the pooler, with no 500', async ({ assert }) => {
    assert.deepEqual(await coreFlows(harness, assert), EXPECTED_FLOWS)
  })

  test('F8: the mixed load through the pooler meets no 500 and leaves consistent data', async ({
    assert,
  }) => {
    const report = await harness.runFault({
      name: 'F8 no fault: the mixed load through PgBouncer in transaction mode for 6 s',
      inject: async () => {},
      holdMs: 6000,
      remove: async () => {},
      ready: 'up',
      unaffected: ['signin', 'me', 'forgot', 'reset'],
    })
    assert.deepEqual(report.failures, [])
  })

  test('F8: a sign-in waiting on a row lock is cut off at the statement timeout', async ({
    assert,
  }) => {
    await assertSigninCutOff(harness, assert)
  })

  test('F8: GET /me waiting on a table lock is cut off at the statement timeout', async ({
    assert,
  }) => {
    const account = await newAccount(harness, assert)
    const signin = await call(harness, 'POST', '/auth/signin', {
      body: { email: account.email, password: account.password },
    })
    const token = signin.body.data.token
    const release = await harness.cluster.lockExclusive('tokens')
    try {
      const answer = await call(harness, 'GET', '/me', { token })
      assert.equal(answer.status, 503)
      assert.equal(answer.code, 'E_SERVICE_UNAVAILABLE')
      assert.isAtLeast(answer.ms, LIMITS.statementMs)
      assert.isAtMost(answer.ms, CUT_OFF_MS)
      assert.equal(await waitingForLocks(harness), 0, 'the statement still waits on the server')
    } finally {
      await release()
    }
    const after = await call(harness, 'GET', '/me', { token })
    assert.equal(after.status, 200)
  })

  test('F8: migrations run on the direct URL and leave no advisory lock behind', async ({
    assert,
  }) => {
    const env = { ...harness.service.env, HOST: '127.0.0.1', PORT: '0' }
    for (let run = 0; run < 2; run++) {
      await runAce(['migration:run', '--force', '--no-schema-generate', '--compact-output'], env)
    }
    const [row] = await harness.cluster.query<{ count: number }>(
      `select count(*)::int as count from pg_locks where locktype = 'advisory'`
    )
    assert.equal(row.count, 0)
  })
})

test.group('Faults | PgBouncer in session mode', (group) => {
  let harness: Harness

  group.setup(async () => {
    harness = await Harness.start({ name: 'pgbouncer-session', pooler: 'session', users: 3 })
    return () => harness.stop()
  })

  test('F8: every core flow works through a session-mode pooler', async ({ assert }) => {
    assert.deepEqual(await coreFlows(harness, assert), EXPECTED_FLOWS)
  })

  test('F8: a sign-in waiting on a row lock is cut off at the statement timeout', async ({
    assert,
  }) => {
    await assertSigninCutOff(harness, assert)
  })

  test('F8: a pool too small for the service, once raised by RELOAD, serves again', async ({
    assert,
  }) => {
    const pgbouncer = harness.pgbouncer!
    const size = pgbouncer.poolSize
    const account = await newAccount(harness, assert)
    const signin = await call(harness, 'POST', '/auth/signin', {
      body: { email: account.email, password: account.password },
    })
    const token = signin.body.data.token
    const readiness = async () => {
      const response = await fetch(`${harness.service.url}/health/ready`, {
        signal: AbortSignal.timeout(10_000),
      })
      await response.text()
      return response.status
    }
    /**
     * A fresh process (nothing learnt from a first connection yet) behind a
     * pool of 2 whose server connections someone else holds: every
     * connection the service opens logs in and then waits in PgBouncer's
     * queue, until the pool gives up on it.
     */
    await harness.service.kill()
    const database = new URL(harness.cluster.url).pathname.slice(1)
    await pgbouncer.resize(2)
    await pgbouncer.admin(`KILL ${database}`)
    await pgbouncer.admin(`RESUME ${database}`)
    const holders: pg.Client[] = []
    try {
      for (let index = 0; index < 2; index++) {
        const holder = new pg.Client({
          connectionString: pgbouncer.url,
          application_name: 'tessera-faults',
        })
        holder.on('error', () => {})
        holders.push(holder)
        await holder.connect()
        await holder.query('select 1')
      }
      await harness.service.start()
      const starved = { me: new Set<number>(), ready: new Set<number>() }
      const until = Date.now() + 6000
      while (Date.now() < until) {
        const [me, ready] = await Promise.all([
          call(harness, 'GET', '/me', { token }),
          readiness(),
          call(harness, 'GET', '/me', { token }),
          call(harness, 'GET', '/me', { token }),
        ])
        starved.me.add(me.status)
        starved.ready.add(ready)
        await sleep(100)
      }
      assert.deepEqual([...starved.me, ...starved.ready], [503, 503], 'starved')

      /**
       * Raised, with room for the service's connections (and the two held
       * ones), as the README asks: a RELOAD must be enough. The connections
       * the service gave up on must not be waiting ahead of it, and must
       * not take the new server connections.
       */
      await pgbouncer.resize(size)
      const deadline = Date.now() + 15_000
      let last = ''
      while (Date.now() < deadline) {
        const me = await call(harness, 'GET', '/me', { token })
        last = `me ${me.status}, ready ${await readiness()}`
        if (last === 'me 200, ready 200') break
        await sleep(250)
      }
      const pools = await pgbouncer.admin('SHOW POOLS')
      const pool = pools.find((row) => row.database === database)
      assert.equal(last, 'me 200, ready 200', `after RELOAD: ${JSON.stringify(pool)}`)
    } finally {
      for (const holder of holders) await holder.end().catch(() => {})
      await pgbouncer.resize(size).catch(() => {})
    }
  })
})
