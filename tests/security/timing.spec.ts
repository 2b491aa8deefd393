import { test } from '@japa/runner'
import emitter from '@adonisjs/core/services/emitter'
import type { ApiClient, ApiResponse } from '@japa/api-client'
import {
  PASSWORD,
  countHashes,
  createUser,
  resetRateLimits,
  uniqueEmail,
} from '#tests/helpers/accounts'
import { recordQueries, statementsMissingFrom } from '#tests/security/helpers/queries'
import { HoldingSmtpServer, redirectMail } from '#tests/security/helpers/holding_smtp'
import background from '#services/background'
import { mailbox } from '#tests/helpers/mailbox'

/**
 * SECURITY.md A2: no enumeration by timing. Proved by counting the work
 * each request does before its response — argon2 operations (through the
 * BoundedHasher's counter) and SQL statements (at the `pg` driver) — and by
 * holding mail delivery open at an SMTP server while the response arrives.
 * Wall-clock comparisons would be flaky; work counts are exact.
 */

const API = '/api/v1'

/**
 * One request's hashing and SQL, up to its response.
 */
async function work(request: () => Promise<ApiResponse>) {
  // what the request leaves for after its response (issuing a link,
  // queueing its mail) is held back while it is measured, counted, then
  // let run to its end before the next request
  const resume = background.pause()
  let measured
  let deferred
  try {
    measured = await countHashes(() => recordQueries(request))
    deferred = background.pending
  } finally {
    resume()
  }
  await background.idle()
  const [hashes, [statements, response]] = measured
  return { hashes, statements, response, deferred }
}

function post(client: ApiClient, path: string, body: object) {
  return () => client.post(`${API}${path}`).json(body)
}

/**
 * Fails when `promise` has not settled within `ms`: a response that waited
 * for the held mail would never arrive while the mail is held.
 */
async function within<T>(promise: Promise<T>, ms: number, message: string) {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

test.group('Security | no enumeration by timing', (group) => {
  group.each.setup(() => resetRateLimits())

  test('A2: sign-in hashes exactly once for an unknown email, as for a wrong password on a known one', async ({
    client,
    assert,
  }) => {
    const verified = await createUser()
    const unverified = await createUser({ verified: false })
    const guess = 'not the password at all'

    const unknown = await work(
      post(client, '/auth/signin', { email: uniqueEmail('a2-nobody'), password: guess })
    )
    const wrong = await work(
      post(client, '/auth/signin', { email: verified.email, password: guess })
    )
    const wrongUnverified = await work(
      post(client, '/auth/signin', { email: unverified.email, password: guess })
    )

    for (const [label, run] of Object.entries({ unknown, wrong, wrongUnverified })) {
      run.response.assertStatus(400)
      run.response.assertBodyContains({ errors: [{ code: 'E_INVALID_CREDENTIALS' }] })
      assert.equal(run.hashes, 1, `${label}: ${run.hashes} argon2 operations`)
    }
    // The same statements, in any order (the three rate-limit counts run concurrently).
    assert.deepEqual([...unknown.statements].sort(), [...wrong.statements].sort())
    assert.deepEqual([...unknown.statements].sort(), [...wrongUnverified.statements].sort())
    assert.lengthOf(
      unknown.statements.filter((statement) => statement.startsWith('select')),
      1,
      'one user lookup'
    )

    // Control: the right password also costs exactly one verification.
    const right = await work(
      post(client, '/auth/signin', { email: verified.email, password: PASSWORD })
    )
    right.response.assertStatus(200)
    assert.equal(right.hashes, 1)
  })

  test('A2: signup hashes the password once whether the address is new, taken or pending', async ({
    client,
    assert,
  }) => {
    const verified = await createUser()
    const unverified = await createUser({ verified: false })
    const password = 'a fine long passphrase'

    const fresh = await work(
      post(client, '/auth/signup', { email: uniqueEmail('a2-new'), password })
    )
    const taken = await work(post(client, '/auth/signup', { email: verified.email, password }))
    const pending = await work(post(client, '/auth/signup', { email: unverified.email, password }))

    for (const [label, run] of Object.entries({ fresh, taken, pending })) {
      run.response.assertStatus(202)
      assert.equal(run.hashes, 1, `${label}: ${run.hashes} argon2 operations`)
    }
    assert.deepEqual(fresh.response.body(), taken.response.body())
    assert.deepEqual(fresh.response.body(), pending.response.body())

    /**
     * Before the response, taken and pending addresses run the same
     * statements, and a new one adds only its user's INSERT (documented in
     * docs/security.md) next to the argon2id hash all three pay. Every
     * address gets its mail from a task that runs after the response.
     */
    assert.deepEqual(pending.statements, taken.statements)
    assert.deepEqual(statementsMissingFrom(taken.statements, fresh.statements), [])
    const freshExtra = statementsMissingFrom(fresh.statements, taken.statements)
    assert.lengthOf(freshExtra, 1, freshExtra.join(' | '))
    assert.match(freshExtra[0], /^insert into "users"/)
    for (const [label, run] of Object.entries({ fresh, taken, pending })) {
      assert.equal(run.deferred, 1, `${label}: its mail is not left for after the response`)
    }
  })

  test('A2: forgot and resend do no hashing and the same queries for known and unknown emails before they answer', async ({
    client,
    assert,
  }) => {
    const verified = await createUser()
    const unverified = await createUser({ verified: false })
    const addresses = {
      forgotUnknown: uniqueEmail('a2-nobody'),
      forgotKnown: verified.email,
      resendUnknown: uniqueEmail('a2-nobody'),
      resendVerified: verified.email,
      resendPending: unverified.email,
    }
    // mail already sent to an address, so each run counts only its own
    const mailedBefore = (email: string) => mailbox.to(email).length
    const mailed: Record<string, number> = {}
    async function measured(label: keyof typeof addresses, path: string) {
      const before = mailedBefore(addresses[label])
      const run = await work(post(client, path, { email: addresses[label] }))
      mailed[label] = mailbox.to(addresses[label]).length - before
      return run
    }

    const forgotUnknown = await measured('forgotUnknown', '/auth/password/forgot')
    const forgotKnown = await measured('forgotKnown', '/auth/password/forgot')
    const resendUnknown = await measured('resendUnknown', '/auth/email/resend')
    const resendVerified = await measured('resendVerified', '/auth/email/resend')
    const resendPending = await measured('resendPending', '/auth/email/resend')

    const runs = { forgotUnknown, forgotKnown, resendUnknown, resendVerified, resendPending }
    for (const [label, run] of Object.entries(runs)) {
      run.response.assertStatus(202)
      assert.equal(run.hashes, 0, `${label}: ${run.hashes} argon2 operations`)
    }
    assert.deepEqual(forgotKnown.response.body(), forgotUnknown.response.body())
    assert.deepEqual(resendPending.response.body(), resendUnknown.response.body())
    assert.deepEqual(resendVerified.response.body(), resendUnknown.response.body())

    // Before the response every address runs exactly the same statements:
    // the token and its mail come from a task that runs after it.
    assert.deepEqual(resendVerified.statements, resendUnknown.statements)
    assert.deepEqual(resendPending.statements, resendUnknown.statements)
    assert.deepEqual(forgotUnknown.statements, resendUnknown.statements)
    assert.deepEqual(forgotKnown.statements, forgotUnknown.statements)
    const deferred = Object.fromEntries(
      Object.entries(runs).map(([label, run]) => [label, run.deferred])
    )
    // Every address leaves exactly one job for after the response (the
    // job, not the request, looks the address up: SECURITY.md F6)…
    assert.deepEqual(deferred, {
      forgotUnknown: 1,
      forgotKnown: 1,
      resendUnknown: 1,
      resendVerified: 1,
      resendPending: 1,
    })
    // …and only the jobs for a known address (an unverified one, for
    // resend) mail anything, once it has run.
    assert.deepEqual(mailed, {
      forgotUnknown: 0,
      forgotKnown: 1,
      resendUnknown: 0,
      resendVerified: 0,
      resendPending: 1,
    })
  })

  /**
   * Delivery is held open at a second SMTP server: it receives each
   * message in full but withholds its "250 OK". A response that waited for
   * delivery could not arrive while the mail is held; `mail:sent` (emitted
   * by the mailer only once the server acknowledged) proves that nothing
   * had been delivered when each response came. Pausing the suite's shared
   * mailbox instead is not possible (its server is private to
   * tests/helpers/mailbox.ts, and stopping it would move its port away from
   * the one the app's transport was built with at boot), so the app's
   * default mailer is pointed at the holding server for this test only.
   */
  test('A2: forgot, resend and a repeated signup answer 202 while their mail is still held undelivered', async ({
    client,
    assert,
    cleanup,
  }) => {
    const sink = new HoldingSmtpServer()
    const port = await sink.start()
    const restore = redirectMail(port)
    cleanup(async () => {
      restore()
      await sink.stop()
    })
    const verified = await createUser()
    const unverified = await createUser({ verified: false })
    // Mail of earlier tests may still be on its way: count only this test's.
    const ours = new Set([verified.email, unverified.email])
    let delivered = 0
    const onSent = (event: { message: { to?: unknown } }) => {
      const to = JSON.stringify(event.message.to ?? '')
      if ([...ours].some((email) => to.includes(email))) delivered++
    }
    emitter.on('mail:sent', onSent)
    cleanup(() => emitter.off('mail:sent', onSent))
    const cases = [
      { path: '/auth/password/forgot', email: verified.email, mails: 1 },
      { path: '/auth/email/resend', email: unverified.email, mails: 1 },
      { path: '/auth/signup', email: verified.email, mails: 1 },
      { path: '/auth/password/forgot', email: uniqueEmail('a2-nobody'), mails: 0 },
      { path: '/auth/email/resend', email: uniqueEmail('a2-nobody'), mails: 0 },
    ]

    const unknown = cases.filter((entry) => entry.mails === 0).map((entry) => entry.email)
    const received = (addresses: Iterable<string>) => {
      const wanted = new Set(addresses)
      return sink.received.filter((message) => message.to.some((to) => wanted.has(to)))
    }

    let expected = 0
    for (const { path, email, mails } of cases) {
      const response = await within(
        client.post(`${API}${path}`).json({ email, password: 'a fine long passphrase' }),
        5000,
        `${path} for ${email} did not answer while its mail was held: it waits for delivery`
      )
      response.assertStatus(202)
      assert.equal(delivered, 0, `${path}: a mail was delivered before the response`)
      expected += mails
    }

    // The mail really was on its way, held at the server, when the answers
    // came… (one account's mails leave one at a time, in order: the repeated
    // signup's notice waits in the queue behind the reset mail held for the
    // same address)
    const deadline = Date.now() + 5000
    while (received(ours).length < expected - 1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.equal(delivered, 0)
    assert.sameMembers(
      received(ours).map((message) => message.to.join(',')),
      [verified.email, unverified.email]
    )
    // …and is delivered once the server acknowledges.
    sink.release()
    while (delivered < expected && Date.now() < deadline + 5000) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.equal(delivered, expected)
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.lengthOf(received(ours), expected)
    assert.lengthOf(received(unknown), 0, 'unknown addresses got no mail')
  })
})
