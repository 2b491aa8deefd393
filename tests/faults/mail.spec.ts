import { test } from '@japa/runner'
import Harness, { waitUntil } from '#tests/faults/helpers/harness'
import type { Outcome } from '#tests/faults/helpers/load'
import { sleep } from '#tests/faults/helpers/processes'

const RESET_SUBJECT = /Reset your password/

/**
 * SECURITY.md F4: the SMTP server refusing connections, hanging, or down
 * for 12.5 s. Forgot-password answers exactly as usual and as fast (mail is
 * sent by the job queue after the response, so neither the status, the
 * body nor the timing tells whether an account exists); each failure is
 * logged; the job is retried with backoff and every message is delivered
 * once the server is back (an outage longer than every retry dead-letters
 * the job instead: tests/faults/queue.spec.ts).
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
    const { domain, known, unknown } = await harness.signUpOnOwnDomain(tag, size)
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
            entry.msg === message && entry.job === 'reset_link' && entry.recipientDomain === domain
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
      mails.logged('background job failed, will retry').length,
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

  test('F4: SMTP down for 12.5 s: every mail still arrives, once', async ({ assert }) => {
    const mails = await batch('outage')
    const report = await harness.runFault({
      name: 'F4 SMTP sink refusing connections for 12.5 s',
      inject: () => harness.gate.close(),
      holdMs: 12_500,
      during: () => mails.forgotAll(),
      remove: async () => {
        await harness.gate.open()
      },
      ready: 'up',
      unaffected: ['signin', 'me', 'forgot'],
    })
    assertSameAnswers(assert, mails.answers)
    await waitUntil(() => mails.delivered().length === mails.known.length, 20_000)
    await sleep(1000)
    assert.deepEqual(mails.delivered(), mails.known, 'every reset mail arrives once SMTP is back')
    for (const email of mails.known) {
      const resets = harness.mailbox.to(email).filter((mail) => RESET_SUBJECT.test(mail.subject))
      assert.lengthOf(resets, 1, `${email} got ${resets.length} reset mails`)
    }
    assert.isAtLeast(mails.logged('background job failed, will retry').length, mails.known.length)
    assert.deepEqual(mails.logged('background job failed, dead-lettered'), [])
    assert.deepEqual(report.failures, [])
  })
})
