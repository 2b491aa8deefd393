import { setTimeout as sleep } from 'node:timers/promises'
import { test } from '@japa/runner'
import settings from '#config/setting'
import User from '#models/user'
import { linkIn, mailbox } from '#tests/helpers/mailbox'
import { useUpMailLimit } from '#tests/helpers/mail'
import {
  createUser,
  expireTokens,
  resetRateLimits,
  tokenModule,
  tokenRows,
  uniqueEmail,
} from '#tests/helpers/accounts'
import {
  assertInvalid,
  assertError,
  assertMessage,
  assertTooManyRequests,
} from '#tests/helpers/assertions'
import { issuedValue } from '#tests/helpers/tokens'

const VERIFY = '/api/v1/auth/email/verify'
const RESEND = '/api/v1/auth/email/resend'
const CONFIRM_MAIL = /Confirm your email/
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/

async function isVerified(user: User) {
  const fresh = await User.findOrFail(user.id)
  return fresh.emailVerifiedAt !== null
}

test.group('Auth | email verification', (group) => {
  group.each.setup(() => resetRateLimits())

  test('confirms the address and answers 200 with the user', async ({ client, assert }) => {
    const user = await createUser({ verified: false, name: 'Lin' })
    const tokens = await tokenModule()
    const issued = await tokens.create(user, 'email_verification', {
      claim: { passwordHash: user.password, name: 'Lin' },
    })
    const token = issued.value!.release()

    const response = await client.post(VERIFY).json({ token })

    response.assertStatus(200)
    const body = response.body()
    assert.deepEqual(Object.keys(body), ['data'])
    assert.deepEqual(Object.keys(body.data), ['user'])
    assert.sameMembers(Object.keys(body.data.user), [
      'id',
      'email',
      'name',
      'roles',
      'emailVerifiedAt',
      'createdAt',
    ])
    assert.include(body.data.user, { id: user.id, email: user.email, name: 'Lin' })
    assert.deepEqual(body.data.user.roles, ['user'])
    assert.match(body.data.user.emailVerifiedAt, ISO_UTC)

    const stored = await User.findOrFail(user.id)
    assert.isNotNull(stored.emailVerifiedAt)
    assert.equal(Date.parse(body.data.user.emailVerifiedAt), stored.emailVerifiedAt!.toMillis())
    assert.lengthOf(await tokenRows(user.id, 'email_verification'), 0)
  })

  test('refuses the same token a second time with 400 e_invalid_token', async ({
    client,
    assert,
  }) => {
    const user = await createUser({ verified: false })
    const token = await issuedValue(user, 'email_verification')
    const first = await client.post(VERIFY).json({ token })
    first.assertStatus(200)

    const second = await client.post(VERIFY).json({ token })
    assertError(assert, second, 400, 'E_INVALID_TOKEN')
  })

  test('refuses garbage, a tampered token, an access token and a reset token with 400 e_invalid_token', async ({
    client,
    assert,
  }) => {
    const user = await createUser({ verified: false })
    const valid = await issuedValue(user, 'email_verification')
    const access = await issuedValue(user, 'access')
    const reset = await issuedValue(user, 'password_reset')
    const tampered = `${valid.slice(0, -1)}${valid.endsWith('0') ? '1' : '0'}`

    for (const token of ['garbage', 'evt_garbage.garbage', tampered, access, reset]) {
      const response = await client.post(VERIFY).json({ token })
      assertError(assert, response, 400, 'E_INVALID_TOKEN')
    }

    assert.isFalse(await isVerified(user))
    assert.lengthOf(await tokenRows(user.id, 'password_reset'), 1)
    assert.lengthOf(await tokenRows(user.id, 'access'), 1)
    const stillValid = await client.post(VERIFY).json({ token: valid })
    stillValid.assertStatus(200)
  })

  test('refuses an expired token with 400 e_invalid_token', async ({ client, assert }) => {
    const user = await createUser({ verified: false })
    const token = await issuedValue(user, 'email_verification')
    await expireTokens(user.id, 'email_verification')

    const response = await client.post(VERIFY).json({ token })

    assertError(assert, response, 400, 'E_INVALID_TOKEN')
    assert.isFalse(await isVerified(user))
  })

  test('answers 422 on token when it is missing', async ({ client, assert }) => {
    const response = await client.post(VERIFY).json({})
    assertInvalid(assert, response, { token: 'required' })
  })

  test('answers resend with 202 and one body for unknown, unverified and verified addresses', async ({
    client,
    assert,
  }) => {
    const unverified = await createUser({ verified: false })
    const verified = await createUser()

    const responses = [
      await client.post(RESEND).json({ email: uniqueEmail('unknown') }),
      await client.post(RESEND).json({ email: unverified.email }),
      await client.post(RESEND).json({ email: verified.email }),
    ]

    for (const response of responses) response.assertStatus(202)
    const body = assertMessage(assert, responses[0], 202)
    assert.deepEqual(responses[1].body(), body)
    assert.deepEqual(responses[2].body(), body)
  })

  test('mails a new link to an unverified address and retires the older one', async ({
    client,
    assert,
  }) => {
    const user = await createUser({ verified: false })
    const older = await issuedValue(user, 'email_verification')

    const response = await client.post(RESEND).json({ email: user.email })
    response.assertStatus(202)

    const mail = await mailbox.waitFor(user.email, CONFIRM_MAIL)
    const newer = linkIn(mail, settings.links.verifyEmail).searchParams.get('token')!
    assert.match(newer, /^evt_/)
    assert.notEqual(newer, older)

    const withOlder = await client.post(VERIFY).json({ token: older })
    assertError(assert, withOlder, 400, 'E_INVALID_TOKEN')
    assert.isFalse(await isVerified(user))
    const withNewer = await client.post(VERIFY).json({ token: newer })
    withNewer.assertStatus(200)
    assert.isTrue(await isVerified(user))
  })

  test('mails nothing to unknown or verified addresses', async ({ client, assert }) => {
    const unknown = uniqueEmail('unknown')
    const verified = await createUser()

    const first = await client.post(RESEND).json({ email: unknown })
    const second = await client.post(RESEND).json({ email: verified.email })
    first.assertStatus(202)
    second.assertStatus(202)

    await sleep(300)
    assert.lengthOf(mailbox.to(unknown), 0)
    assert.lengthOf(mailbox.to(verified.email), 0)
    assert.lengthOf(await tokenRows(verified.id, 'email_verification'), 0)
  })

  test('answers 422 on email for a bad or missing address', async ({ client, assert }) => {
    const bad = await client.post(RESEND).json({ email: 'not-an-email' })
    assertInvalid(assert, bad, { email: 'email' })
    const missing = await client.post(RESEND).json({})
    assertInvalid(assert, missing, { email: 'required' })
  })

  test('answers 429 with retry-after once the per-email limit is used up', async ({
    client,
    assert,
  }) => {
    const user = await createUser({ verified: false })
    const limit = await useUpMailLimit(client, RESEND, user.email, CONFIRM_MAIL)

    const refused = await client.post(RESEND).json({ email: user.email })
    assertTooManyRequests(assert, refused)

    await sleep(300)
    assert.lengthOf(mailbox.to(user.email), limit)
  })
})
