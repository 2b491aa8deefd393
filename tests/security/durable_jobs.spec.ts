import type { AddressInfo } from 'node:net'
import { test } from '@japa/runner'
import { SMTPServer } from 'smtp-server'
import app from '@adonisjs/core/services/app'
import db from '@adonisjs/lucid/services/db'
import mail from '@adonisjs/mail/services/main'
import { SMTPTransport } from '@adonisjs/mail/transports/smtp'
import { smtpOptions } from '#config/mail'
import settings from '#config/setting'
import AccountMail from '#services/account_mail'
import background, { type JobData } from '#services/background'
import { createUser, resetRateLimits, signIn, uniqueEmail } from '#tests/helpers/accounts'
import { assertInvalidToken } from '#tests/helpers/assertions'
import {
  forgotForToken,
  signUpForToken,
  verificationTokenFor,
  waitForCount,
} from '#tests/helpers/mail'
import { linkIn, mailbox } from '#tests/helpers/mailbox'

const API = '/api/v1'
const CONFIRM = /Confirm your email/
const CHANGED = /Your password was changed/
const CHOOSE = /Choose a password/

/**
 * Makes every enqueue fail, as when the queue's database drops the
 * connection just as the job is written (or the process dies there):
 * returns the function that heals it.
 */
function breakQueue() {
  const queue = background as unknown as { enqueue: unknown }
  queue.enqueue = async () => {
    throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' })
  }
  return () => {
    delete queue.enqueue
  }
}

function mailsTo(email: string, subject: RegExp) {
  return mailbox.to(email).filter((message) => subject.test(message.subject))
}

/**
 * SECURITY.md F6 (and R5, A7) for the job queue itself: what its table
 * holds, and what running one job twice — at-least-once delivery, e.g. a
 * process killed after the mail left but before the job was marked done —
 * may and may not do. The process-level cases (SIGKILL, SIGTERM, dead
 * letters) are in tests/faults/queue.spec.ts.
 */
test.group('Security | F6 durable jobs', (group) => {
  group.each.setup(() => resetRateLimits())

  test('F6: the jobs table holds no token, link or password, whatever the flow', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('f6-secrets')
    const password = 'first chosen passphrase 1'
    const newPassword = 'second chosen passphrase 2'
    const verification = await signUpForToken(client, email, password)
    const verified = await client.post(`${API}/auth/email/verify`).json({ token: verification })
    verified.assertStatus(200)
    const reset = await forgotForToken(client, email)
    const done = await client
      .post(`${API}/auth/password/reset`)
      .json({ token: reset, password: newPassword })
    done.assertStatus(200)
    const pending = await createUser({ verified: false })
    const resent = await client.post(`${API}/auth/email/resend`).json({ email: pending.email })
    resent.assertStatus(202)
    const resentToken = await verificationTokenFor(pending.email)
    await background.idle()

    const rows = await db.rawQuery(
      `select data::text as data, coalesce(output::text, '') as output,
              coalesce(singleton_key, '') as key
         from pgboss.job where singleton_key in (?, ?)`,
      [email, pending.email]
    )
    // sign-up, reset link, "password changed", resend
    assert.isAtLeast(rows.rows.length, 4)
    const stored = JSON.stringify(rows.rows)
    for (const [what, secret] of Object.entries({
      password,
      newPassword,
      verification,
      reset,
      resentToken,
    })) {
      assert.notInclude(stored, secret, `${what} is in the jobs table`)
    }
    assert.notMatch(stored, /\b(evt|prt|oat)_[A-Za-z0-9]/, 'a token is in the jobs table')
    assert.notMatch(stored, /\?token=/, 'a link is in the jobs table')
    assert.notMatch(stored, /\$argon2/, 'a password hash is in the jobs table')
  })

  test('F6/A7: a sign-up job run twice mails a second link that supersedes the first and keeps the claim', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('f6-twice')
    const password = 'signup chosen passphrase 3'
    const first = await signUpForToken(client, email, password)
    await background.idle()
    const job = await db.rawQuery(
      `select data from pgboss.job where name = ? and singleton_key = ? and state = 'completed'`,
      [background.queue, email]
    )
    assert.lengthOf(job.rows, 1)
    const data = job.rows[0].data as JobData
    assert.equal(data.kind, 'signup_link')

    // the same job again, as after a completion that was never recorded
    const accountMail = await app.container.make(AccountMail)
    await accountMail.deliver(data)
    await waitForCount(email, CONFIRM, 2)
    const mails = mailbox.to(email).filter((message) => CONFIRM.test(message.subject))
    const second = linkIn(mails[1], settings.links.verifyEmail).searchParams.get('token')!
    assert.notEqual(second, first)

    assertInvalidToken(await client.post(`${API}/auth/email/verify`).json({ token: first }))
    const verified = await client.post(`${API}/auth/email/verify`).json({ token: second })
    verified.assertStatus(200)
    // the claim survived the second run: the sign-up's password is the account's
    await signIn(client, email, password)
  })

  /**
   * A change and the job that mails about it commit together: if the job
   * cannot be stored, nothing changed (the request answers 503 and can be
   * repeated), never a change whose mail is lost with a 503 for an answer.
   */
  test('F6/F5: a reset whose "password changed" notice cannot be queued changes nothing; repeated, it mails the notice once', async ({
    client,
    assert,
    cleanup,
  }) => {
    const user = await createUser()
    const token = await forgotForToken(client, user.email)
    await background.idle()
    const newPassword = 'reset chosen passphrase 4'

    const heal = breakQueue()
    cleanup(heal)
    const failed = await client
      .post(`${API}/auth/password/reset`)
      .json({ token, password: newPassword })
    heal()
    failed.assertStatus(503)
    // nothing happened: the old password still signs in, the link still works
    await signIn(client, user.email)
    const done = await client
      .post(`${API}/auth/password/reset`)
      .json({ token, password: newPassword })
    done.assertStatus(200)
    await background.idle()
    await waitForCount(user.email, CHANGED, 1)
    await signIn(client, user.email, newPassword)
    assert.lengthOf(mailsTo(user.email, CHANGED), 1)
  })

  test('F6/F5: a password change whose notice cannot be queued changes nothing', async ({
    client,
    assert,
    cleanup,
  }) => {
    const user = await createUser()
    const session = await signIn(client, user.email)
    const newPassword = 'changed chosen passphrase 5'
    const change = () =>
      client
        .put(`${API}/me/password`)
        .bearerToken(session)
        .json({ currentPassword: 'correct horse battery staple', password: newPassword })

    const heal = breakQueue()
    cleanup(heal)
    const failed = await change()
    heal()
    failed.assertStatus(503)
    await signIn(client, user.email)
    const changed = await change()
    changed.assertStatus(200)
    await background.idle()
    await waitForCount(user.email, CHANGED, 1)
    assert.lengthOf(mailsTo(user.email, CHANGED), 1)
  })

  test('F6/F5: a verification whose "choose a password" mail cannot be queued changes nothing; its link still works', async ({
    client,
    assert,
    cleanup,
  }) => {
    const pending = await createUser({ verified: false })
    const resent = await client.post(`${API}/auth/email/resend`).json({ email: pending.email })
    resent.assertStatus(202)
    const token = await verificationTokenFor(pending.email)
    await background.idle()

    const heal = breakQueue()
    cleanup(heal)
    const failed = await client.post(`${API}/auth/email/verify`).json({ token })
    heal()
    failed.assertStatus(503)
    await pending.refresh()
    assert.isNull(pending.emailVerifiedAt, 'the address was confirmed by a request answered 503')
    const verified = await client.post(`${API}/auth/email/verify`).json({ token })
    verified.assertStatus(200)
    await background.idle()
    await waitForCount(pending.email, CHOOSE, 1)
    assert.lengthOf(mailsTo(pending.email, CHOOSE), 1)
  })

  test('F6/F5: a sign-up whose link cannot be queued creates no account; repeated, its link carries the claim', async ({
    client,
    assert,
    cleanup,
  }) => {
    const email = uniqueEmail('f6-signup-queue')
    const password = 'signup chosen passphrase 6'

    const heal = breakQueue()
    cleanup(heal)
    const failed = await client.post(`${API}/auth/signup`).json({ email, password })
    heal()
    failed.assertStatus(503)
    const token = await signUpForToken(client, email, password)
    const verified = await client.post(`${API}/auth/email/verify`).json({ token })
    verified.assertStatus(200)
    // the repeated sign-up created the account: its password is the account's
    await signIn(client, email, password)
    await background.idle()
    assert.lengthOf(mailsTo(email, /already have an account/), 0)
  })

  /**
   * The app's SMTP options, pointed at a server that counts connections:
   * a burst of mail shares a bounded pool instead of opening one
   * connection per message.
   */
  test('F6: a burst of mail shares at most jobs.concurrency pooled SMTP connections', async ({
    client,
    assert,
    cleanup,
  }) => {
    let open = 0
    let most = 0
    let connections = 0
    let received = 0
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onConnect: (_session, callback) => {
        connections++
        open++
        most = Math.max(most, open)
        callback()
      },
      onClose: () => {
        open--
      },
      onData: (stream, _session, callback) => {
        stream.resume()
        stream.on('end', () => {
          received++
          // a little time per message, as a real server takes
          setTimeout(() => callback(), 20)
        })
      },
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.server.address() as AddressInfo).port
    const mailer = mail.use() as unknown as { transport: SMTPTransport }
    const original = mailer.transport
    const pooled = new SMTPTransport({ ...smtpOptions, host: '127.0.0.1', port })
    mailer.transport = pooled
    cleanup(async () => {
      mailer.transport = original
      await pooled.close()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    })

    const burst = 12
    const users = await Promise.all(Array.from({ length: burst }, () => createUser()))
    await Promise.all(
      users.map(async (user) => {
        const response = await client
          .post(`${API}/auth/password/forgot`)
          .json({ email: user.email })
        response.assertStatus(202)
      })
    )
    await background.idle()

    assert.equal(received, burst)
    assert.isAtMost(most, settings.jobs.concurrency, 'connections open at once')
    assert.isAtMost(
      connections,
      settings.jobs.concurrency,
      `${connections} connections for ${burst} mails`
    )
  })
})
