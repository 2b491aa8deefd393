import { randomBytes } from 'node:crypto'
import { test } from '@japa/runner'
import Harness, { post, waitUntil } from '#tests/faults/helpers/harness'
import type { Outcome } from '#tests/faults/helpers/load'
import { sleep } from '#tests/faults/helpers/processes'

const RESET_SUBJECT = /Reset your password/

/**
 * SECURITY.md F4: the SMTP server refusing connections, hanging, or down
 * longer than the service's retries (0.5 s, 2 s, 8 s). Forgot-password
 * answers exactly as usual and as fast (mail is sent off the request path,
 * so neither the status, the body nor the timing tells whether an account
 * exists); the failure is logged; a message is either delivered once the
 * server is back or logged as lost — never dropped silently.
 */
test.group('Faults | mail transport', (group) => {
  let harness: Harness

  group.setup(async () => {
    harness = await Harness.start({ name: 'mail', users: 6, resets: false })
    return () => harness.stop()
  })

  /**
   * Accounts on a domain of their own (the log names recipients' domains
   * only), and as many addresses without an account on the same domain.
   */
  async function batch(tag: string, size = 4) {
    const run = randomBytes(3).toString('hex')
    const domain = `${tag}-${run}.example.com`
    const known = Array.from({ length: size }, (_, index) => `known-${index}@${domain}`)
    const unknown = Array.from({ length: size }, (_, index) => `nobody-${index}@${domain}`)
    for (const email of known) {
      await post(
        harness.service.url,
        '/api/v1/auth/signup',
        { email, password: `Mail-${run}-${email}` },
        [202]
      )
      await harness.mailbox.waitFor(email, /Confirm your email/, 10_000)
    }
    const answers: Outcome[] = []
    return {
      domain,
      known,
      answers,
      /** Forgot-password for every address, known and unknown, at once. */
      async forgotAll() {
        answers.push(
          ...(await Promise.all(
            [...known, ...unknown].map((email) =>
              harness.api.call('forgot', 'POST', '/api/v1/auth/password/forgot', {
                body: { email },
              })
            )
          ))
        )
      },
      delivered() {
        return known.filter((email) =>
          harness.mailbox.to(email).some((mail) => RESET_SUBJECT.test(mail.subject))
        )
      },
      logged(message: string) {
        return harness.service.logs.filter(
          (entry) =>
            entry.msg === message &&
            entry.subject === 'Reset your password' &&
            (entry.recipientDomains as string[] | undefined)?.includes(domain)
        )
      },
    }
  }

  /**
   * Known and unknown addresses got the same status and body, quickly.
   */
  function assertSameAnswers(
    assert: {
      deepEqual(a: unknown, b: unknown, m?: string): void
      isBelow(a: number, b: number, m?: string): void
    },
    answers: Outcome[]
  ) {
    assert.deepEqual(
      [...new Set(answers.map((answer) => `${answer.status} ${JSON.stringify(answer.body)}`))],
      [`202 ${JSON.stringify(answers[0].body)}`],
      'every forgot-password answer is the same 202'
    )
    const slowest = Math.max(...answers.map((answer) => answer.ms))
    // nodemailer's connection and greeting timeouts are 5 s: an answer that
    // waited on the mail server would take at least that long
    assert.isBelow(slowest, 3000, `forgot-password waited on the mail server (${slowest} ms)`)
  }

  test('F4: SMTP refusing connections for 3 s', async ({ assert }) => {
    const mails = await batch('refused')
    const report = await harness.runFault({
      name: 'F4 SMTP sink refusing connections for 3 s',
      inject: () => harness.gate.close(),
      holdMs: 3000,
      during: () => mails.forgotAll(),
      remove: async () => {
        await harness.gate.open()
      },
      ready: 'up',
      unaffected: ['signin', 'me', 'forgot'],
    })
    assertSameAnswers(assert, mails.answers)
    await waitUntil(() => mails.delivered().length === mails.known.length, 15_000)
    assert.deepEqual(mails.delivered(), mails.known, 'every reset mail arrives once SMTP is back')
    assert.isAtLeast(
      mails.logged('mail delivery failed, will retry').length,
      mails.known.length,
      'each failed delivery is logged'
    )
    assert.deepEqual(report.failures, [])
  })

  test('F4: SMTP accepting connections but never answering', async ({ assert }) => {
    const mails = await batch('hanging')
    const report = await harness.runFault({
      name: 'F4 SMTP sink hanging (connections accepted, never greeted) for 4 s',
      inject: () => harness.gate.hang(),
      holdMs: 4000,
      during: () => mails.forgotAll(),
      remove: async () => {
        await harness.gate.open()
      },
      ready: 'up',
      unaffected: ['signin', 'me', 'forgot'],
    })
    assertSameAnswers(assert, mails.answers)
    await waitUntil(() => mails.delivered().length === mails.known.length, 20_000)
    assert.deepEqual(mails.delivered(), mails.known, 'every reset mail arrives once SMTP is back')
    assert.deepEqual(report.failures, [])
  })

  test('F4: SMTP down for longer than every retry', async ({ assert }) => {
    const mails = await batch('lost')
    const report = await harness.runFault({
      name: 'F4 SMTP sink refusing connections for 12.5 s (longer than the 0.5 s + 2 s + 8 s retries)',
      inject: () => harness.gate.close(),
      holdMs: 12_500,
      during: () => mails.forgotAll(),
      remove: async () => {
        await harness.gate.open()
      },
      ready: 'up',
      unaffected: ['signin', 'me', 'forgot'],
      mailMayBeLost: true,
    })
    assertSameAnswers(assert, mails.answers)
    await waitUntil(
      () => mails.logged('mail delivery failed, message lost').length >= mails.known.length,
      5000
    )
    await sleep(1000)
    const delivered = mails.delivered().length
    const lost = mails.logged('mail delivery failed, message lost').length
    assert.equal(
      delivered + lost,
      mails.known.length,
      `${delivered} delivered + ${lost} logged as lost ≠ ${mails.known.length} sent`
    )
    assert.isAbove(lost, 0, 'the outage outlasted the retries')
    assert.deepEqual(report.failures, [])
  })
})
