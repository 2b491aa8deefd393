import { setTimeout as sleep } from 'node:timers/promises'
import { test } from '@japa/runner'
import settings from '#config/setting'
import User from '#models/user'
import { linkIn, mailbox } from '#tests/helpers/mailbox'
import { waitForCount } from '#tests/helpers/mail'
import { PASSWORD, createUser, resetRateLimits, uniqueEmail } from '#tests/helpers/accounts'
import { assertInvalid } from '#tests/helpers/assertions'

const SIGNUP = '/api/v1/auth/signup'
const VERIFY = '/api/v1/auth/email/verify'
const SIGNIN = '/api/v1/auth/signin'
const CONFIRM_MAIL = /Confirm your email/
const EXISTS_MAIL = /already have an account/

/**
 * The front-end page verification links must point at (API.md: the
 * configured `<FRONTEND_URL>/verify-email`).
 */
function verifyPage() {
  return new URL('verify-email', `${process.env.FRONTEND_URL!.replace(/\/$/, '')}/`).toString()
}

async function usersWith(email: string) {
  return User.query().where('email', email)
}

test.group('Auth | signup', (group) => {
  group.each.setup(() => resetRateLimits())

  test('answers 202 with a message and creates an unverified user with the user role', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('signup')
    const response = await client.post(SIGNUP).json({ email, password: PASSWORD, name: 'Ada' })

    response.assertStatus(202)
    const body = response.body()
    assert.deepEqual(Object.keys(body), ['data'])
    assert.deepEqual(Object.keys(body.data), ['message'])
    assert.isString(body.data.message)
    assert.isNotEmpty(body.data.message)

    const rows = await usersWith(email)
    assert.lengthOf(rows, 1)
    assert.isNull(rows[0].emailVerifiedAt)
    assert.deepEqual(rows[0].roles, ['user'])
    assert.equal(rows[0].name, 'Ada')
    assert.notEqual(rows[0].password, PASSWORD)
  })

  test('mails a verification link to the front-end verify page carrying an evt_ token', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('signup')
    const response = await client.post(SIGNUP).json({ email, password: PASSWORD })
    response.assertStatus(202)

    const mail = await mailbox.waitFor(email, CONFIRM_MAIL)
    const link = linkIn(mail, settings.links.verifyEmail)
    assert.equal(`${link.origin}${link.pathname}`, verifyPage())
    const token = link.searchParams.get('token')!
    assert.match(token, /^evt_/)

    const verified = await client.post(VERIFY).json({ token })
    verified.assertStatus(200)
    assert.equal(verified.body().data.user.email, email)
  })

  test('answers a repeated signup for an unverified address identically and mails a fresh link', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('again')
    const first = await client.post(SIGNUP).json({ email, password: PASSWORD, name: 'First' })
    const firstMail = await mailbox.waitFor(email, CONFIRM_MAIL)
    const firstToken = linkIn(firstMail, settings.links.verifyEmail).searchParams.get('token')

    const second = await client
      .post(SIGNUP)
      .json({ email, password: 'another long passphrase', name: 'Second' })

    first.assertStatus(202)
    second.assertStatus(202)
    assert.deepEqual(second.body(), first.body())

    const rows = await usersWith(email)
    assert.lengthOf(rows, 1)
    assert.equal(rows[0].name, 'First')
    assert.isNull(rows[0].emailVerifiedAt)

    const notice = await mailbox.waitFor(email, EXISTS_MAIL)
    const freshToken = linkIn(notice, settings.links.verifyEmail).searchParams.get('token')!
    assert.match(freshToken, /^evt_/)
    assert.notEqual(freshToken, firstToken)

    // A contested address (SECURITY.md A7): the link confirms it but activates neither password.
    const verified = await client.post(VERIFY).json({ token: freshToken })
    verified.assertStatus(200)
    const withFirstPassword = await client.post(SIGNIN).json({ email, password: PASSWORD })
    withFirstPassword.assertStatus(400)
    await mailbox.waitFor(email, /Choose a password/)
  })

  test('answers a signup for a verified address like any other and mails a notice without a link', async ({
    client,
    assert,
  }) => {
    const existing = await createUser({ name: 'Owner' })
    const fresh = await client
      .post(SIGNUP)
      .json({ email: uniqueEmail('fresh'), password: 'another long passphrase' })
    const repeated = await client
      .post(SIGNUP)
      .json({ email: existing.email, password: 'another long passphrase', name: 'Intruder' })

    fresh.assertStatus(202)
    repeated.assertStatus(202)
    assert.deepEqual(repeated.body(), fresh.body())

    const rows = await usersWith(existing.email)
    assert.lengthOf(rows, 1)
    assert.equal(rows[0].name, 'Owner')
    assert.equal(rows[0].password, existing.password)

    const notice = await mailbox.waitFor(existing.email, EXISTS_MAIL)
    assert.notInclude(notice.text, settings.links.verifyEmail)
    assert.notInclude(notice.text, 'evt_')
    assert.isFalse(mailbox.to(existing.email).some((mail) => CONFIRM_MAIL.test(mail.subject)))
  })

  test('rejects {case} with a 422 on {field}')
    .with([
      { case: 'a bad email', field: 'email', rule: 'email', body: { email: 'not-an-email' } },
      {
        case: 'a short password',
        field: 'password',
        rule: 'minLength',
        body: { password: 'short' },
      },
      {
        case: 'a missing password',
        field: 'password',
        rule: 'required',
        body: { password: undefined },
      },
      { case: 'a non-string name', field: 'name', rule: 'string', body: { name: 42 } },
      {
        case: 'a name over 100 characters',
        field: 'name',
        rule: 'maxLength',
        body: { name: 'n'.repeat(101) },
      },
    ])
    .run(async ({ client, assert }, row) => {
      const email = uniqueEmail('invalid')
      const before = await User.query().count('* as total')
      const response = await client
        .post(SIGNUP)
        .json(JSON.parse(JSON.stringify({ email, password: PASSWORD, ...row.body })))

      assertInvalid(assert, response, { [row.field]: row.rule })
      const after = await User.query().count('* as total')
      assert.equal(after[0].$extras.total, before[0].$extras.total)
    })

  test('answers 429 with retry-after once the per-email mail limit is used up', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('limit')
    const limit = settings.rateLimits.mail.perEmail.requests
    for (let attempt = 0; attempt < limit; attempt++) {
      const allowed = await client.post(SIGNUP).json({ email, password: PASSWORD })
      allowed.assertStatus(202)
    }
    await waitForCount(email, /Confirm your email|already have an account/, limit)

    const refused = await client.post(SIGNUP).json({ email, password: PASSWORD })
    refused.assertStatus(429)
    assert.equal(refused.body().errors[0].code, 'E_TOO_MANY_REQUESTS')
    const retryAfter = refused.header('retry-after')
    assert.match(retryAfter ?? '', /^\d+$/)
    assert.isAbove(Number(retryAfter), 0)
    assert.isAtMost(Number(retryAfter), settings.rateLimits.mail.perEmail.block)

    await sleep(300)
    assert.lengthOf(mailbox.to(email), limit)
  })
})
