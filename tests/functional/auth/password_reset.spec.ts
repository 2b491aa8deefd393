import { setTimeout as sleep } from 'node:timers/promises'
import { test } from '@japa/runner'
import settings from '#config/setting'
import User from '#models/user'
import { linkIn, mailbox } from '#tests/helpers/mailbox'
import { resetTokenFor, useUpMailLimit } from '#tests/helpers/mail'
import {
  PASSWORD,
  createUser,
  expireTokens,
  resetRateLimits,
  signIn,
  tokenRows,
  uniqueEmail,
} from '#tests/helpers/accounts'
import {
  assertInvalid,
  assertError,
  assertMessage,
  assertTooManyRequests,
} from '#tests/helpers/assertions'
import { issuedValue, storedPasswordHash } from '#tests/helpers/tokens'

const FORGOT = '/api/v1/auth/password/forgot'
const RESET = '/api/v1/auth/password/reset'
const SIGNIN = '/api/v1/auth/signin'
const ME = '/api/v1/me'
const RESET_MAIL = /Reset your password/
const CHANGED_MAIL = /Your password was changed/
const NEW_PASSWORD = 'a brand new long passphrase'

/**
 * The front-end page reset links must point at (API.md: the configured
 * `<FRONTEND_URL>/reset-password`).
 */
function resetPage() {
  return new URL('reset-password', `${process.env.FRONTEND_URL!.replace(/\/$/, '')}/`).toString()
}

test.group('Auth | password reset', (group) => {
  group.each.setup(() => resetRateLimits())

  test('answers forgot with 202 and one body for known and unknown addresses', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    const known = await client.post(FORGOT).json({ email: user.email })
    const unknown = await client.post(FORGOT).json({ email: uniqueEmail('unknown') })

    unknown.assertStatus(202)
    const body = assertMessage(assert, known, 202)
    assert.deepEqual(unknown.body(), body)
  })

  test('mails a reset link to the front-end reset page only for a known address', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    const stranger = uniqueEmail('unknown')
    const known = await client.post(FORGOT).json({ email: user.email })
    const unknown = await client.post(FORGOT).json({ email: stranger })
    known.assertStatus(202)
    unknown.assertStatus(202)

    const mail = await mailbox.waitFor(user.email, RESET_MAIL)
    const link = linkIn(mail, settings.links.resetPassword)
    assert.equal(`${link.origin}${link.pathname}`, resetPage())
    assert.match(link.searchParams.get('token')!, /^prt_/)
    assert.lengthOf(await tokenRows(user.id, 'password_reset'), 1)

    await sleep(300)
    assert.lengthOf(mailbox.to(stranger), 0)
    assert.lengthOf(mailbox.to(user.email), 1)
  })

  test('answers forgot with 422 on email for a bad or missing address', async ({
    client,
    assert,
  }) => {
    const bad = await client.post(FORGOT).json({ email: 'not-an-email' })
    assertInvalid(assert, bad, { email: 'email' })
    const missing = await client.post(FORGOT).json({})
    assertInvalid(assert, missing, { email: 'required' })
  })

  test('answers forgot with 429 and retry-after once the per-email limit is used up', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    const limit = await useUpMailLimit(client, FORGOT, user.email, RESET_MAIL)

    const refused = await client.post(FORGOT).json({ email: user.email })
    assertTooManyRequests(assert, refused)

    await sleep(300)
    assert.lengthOf(mailbox.to(user.email), limit)
  })

  test('sets the new password from the mailed link and answers 200 with a message', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    const forgot = await client.post(FORGOT).json({ email: user.email })
    forgot.assertStatus(202)
    const token = await resetTokenFor(user.email)

    const response = await client.post(RESET).json({ token, password: NEW_PASSWORD })

    assertMessage(assert, response, 200)

    const withNew = await client.post(SIGNIN).json({ email: user.email, password: NEW_PASSWORD })
    withNew.assertStatus(200)
    const withOld = await client.post(SIGNIN).json({ email: user.email, password: PASSWORD })
    withOld.assertStatus(400)
    assert.equal(withOld.body().errors[0].code, 'E_INVALID_CREDENTIALS')
  })

  test('revokes every access token of the user and no one else', async ({ client, assert }) => {
    const user = await createUser()
    const bystander = await createUser()
    const sessions = [await signIn(client, user.email), await signIn(client, user.email)]
    const other = await signIn(client, bystander.email)
    const token = await issuedValue(user, 'password_reset')

    const response = await client.post(RESET).json({ token, password: NEW_PASSWORD })
    response.assertStatus(200)

    for (const session of sessions) {
      const me = await client.get(ME).bearerToken(session)
      me.assertStatus(401)
    }
    assert.lengthOf(await tokenRows(user.id, 'access'), 0)
    const otherMe = await client.get(ME).bearerToken(other)
    otherMe.assertStatus(200)
  })

  test('mails a password changed notice', async ({ client, assert }) => {
    const user = await createUser()
    const token = await issuedValue(user, 'password_reset')

    const response = await client.post(RESET).json({ token, password: NEW_PASSWORD })
    response.assertStatus(200)

    const mail = await mailbox.waitFor(user.email, CHANGED_MAIL)
    assert.notInclude(mail.text, NEW_PASSWORD)
  })

  test('refuses a used token with 400 e_invalid_token', async ({ client, assert }) => {
    const user = await createUser()
    const token = await issuedValue(user, 'password_reset')
    const first = await client.post(RESET).json({ token, password: NEW_PASSWORD })
    first.assertStatus(200)
    const hashAfterFirst = await storedPasswordHash(user)

    const second = await client.post(RESET).json({ token, password: 'yet another long passphrase' })
    assertError(assert, second, 400, 'E_INVALID_TOKEN')
    assert.equal(await storedPasswordHash(user), hashAfterFirst)
  })

  test('refuses garbage and a verification token with 400 e_invalid_token', async ({
    client,
    assert,
  }) => {
    const user = await createUser({ verified: false })
    const verification = await issuedValue(user, 'email_verification')
    const session = await issuedValue(user, 'access')
    const hash = await storedPasswordHash(user)

    for (const token of ['garbage', 'prt_garbage.garbage', verification]) {
      const response = await client.post(RESET).json({ token, password: NEW_PASSWORD })
      assertError(assert, response, 400, 'E_INVALID_TOKEN')
    }

    assert.equal(await storedPasswordHash(user), hash)
    const fresh = await User.findOrFail(user.id)
    assert.isNull(fresh.emailVerifiedAt)
    assert.lengthOf(await tokenRows(user.id, 'email_verification'), 1)
    const me = await client.get(ME).bearerToken(session)
    me.assertStatus(200)
  })

  test('refuses an expired token with 400 e_invalid_token', async ({ client, assert }) => {
    const user = await createUser()
    const token = await issuedValue(user, 'password_reset')
    const hash = await storedPasswordHash(user)
    await expireTokens(user.id, 'password_reset')

    const response = await client.post(RESET).json({ token, password: NEW_PASSWORD })

    assertError(assert, response, 400, 'E_INVALID_TOKEN')
    assert.equal(await storedPasswordHash(user), hash)
  })

  test('answers 422 on password for a short, common or over-long one and keeps the token usable', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    const token = await issuedValue(user, 'password_reset')
    const hash = await storedPasswordHash(user)

    const cases = [
      { password: 'short', rule: 'minLength' },
      { password: 'password', rule: 'commonPassword' },
      { password: 'iloveyou', rule: 'commonPassword' },
      { password: 'x'.repeat(settings.password.maxLength + 1), rule: 'maxLength' },
    ]
    for (const { password, rule } of cases) {
      const response = await client.post(RESET).json({ token, password })
      assertInvalid(assert, response, { password: rule })
    }
    assert.equal(await storedPasswordHash(user), hash)

    const response = await client.post(RESET).json({ token, password: NEW_PASSWORD })
    response.assertStatus(200)
  })

  test('answers 422 on token when it is missing', async ({ client, assert }) => {
    const response = await client.post(RESET).json({ password: NEW_PASSWORD })
    assertInvalid(assert, response, { token: 'required' })
  })

  test('marks an unverified account verified, since following the link proves the mailbox', async ({
    client,
    assert,
  }) => {
    const user = await createUser({ verified: false })
    const token = await issuedValue(user, 'password_reset')

    const response = await client.post(RESET).json({ token, password: NEW_PASSWORD })
    response.assertStatus(200)

    const fresh = await User.findOrFail(user.id)
    assert.isNotNull(fresh.emailVerifiedAt)
    const signin = await client.post(SIGNIN).json({ email: user.email, password: NEW_PASSWORD })
    signin.assertStatus(200)
  })
})
