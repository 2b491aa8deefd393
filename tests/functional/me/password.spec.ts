import { setTimeout as sleep } from 'node:timers/promises'
import { test } from '@japa/runner'
import { mailbox } from '#tests/helpers/mailbox'
import {
  PASSWORD,
  createUser,
  resetRateLimits,
  signIn,
  signedInUser,
  tokenRows,
} from '#tests/helpers/accounts'
import { assertInvalidOn, assertMessage } from '#tests/helpers/assertions'
import { storedPasswordHash } from '#tests/helpers/tokens'

const PASSWORD_URL = '/api/v1/me/password'
const SIGNIN = '/api/v1/auth/signin'
const ME = '/api/v1/me'
const CHANGED_MAIL = /Your password was changed/
const NEW_PASSWORD = 'a brand new long passphrase'

test.group('Me | password', (group) => {
  group.each.setup(() => resetRateLimits())

  test('changes the password and answers 200 with a message', async ({ client, assert }) => {
    const { user, token } = await signedInUser(client)

    const response = await client
      .put(PASSWORD_URL)
      .bearerToken(token)
      .json({ currentPassword: PASSWORD, password: NEW_PASSWORD })

    assertMessage(assert, response, 200)

    const withNew = await client.post(SIGNIN).json({ email: user.email, password: NEW_PASSWORD })
    withNew.assertStatus(200)
    const withOld = await client.post(SIGNIN).json({ email: user.email, password: PASSWORD })
    withOld.assertStatus(400)
  })

  test('keeps the presented session and revokes every other one of the user', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    const bystander = await createUser()
    const first = await signIn(client, user.email)
    const presented = await signIn(client, user.email)
    const last = await signIn(client, user.email)
    const other = await signIn(client, bystander.email)

    const response = await client
      .put(PASSWORD_URL)
      .bearerToken(presented)
      .json({ currentPassword: PASSWORD, password: NEW_PASSWORD })
    response.assertStatus(200)

    const kept = await client.get(ME).bearerToken(presented)
    kept.assertStatus(200)
    for (const revoked of [first, last]) {
      const me = await client.get(ME).bearerToken(revoked)
      me.assertStatus(401)
    }
    assert.lengthOf(await tokenRows(user.id, 'access'), 1)
    const otherMe = await client.get(ME).bearerToken(other)
    otherMe.assertStatus(200)
  })

  test('mails a password changed notice', async ({ client, assert }) => {
    const { user, token } = await signedInUser(client)

    const response = await client
      .put(PASSWORD_URL)
      .bearerToken(token)
      .json({ currentPassword: PASSWORD, password: NEW_PASSWORD })
    response.assertStatus(200)

    const mail = await mailbox.waitFor(user.email, CHANGED_MAIL)
    assert.notInclude(mail.text, NEW_PASSWORD)
  })

  test('answers 422 on currentPassword when it is wrong and changes nothing', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    const other = await signIn(client, user.email)
    const token = await signIn(client, user.email)
    const hash = await storedPasswordHash(user)

    const response = await client
      .put(PASSWORD_URL)
      .bearerToken(token)
      .json({ currentPassword: 'not the right passphrase', password: NEW_PASSWORD })

    assertInvalidOn(assert, response, 'currentPassword')
    assert.equal(await storedPasswordHash(user), hash)
    const otherMe = await client.get(ME).bearerToken(other)
    otherMe.assertStatus(200)
    const withOld = await client.post(SIGNIN).json({ email: user.email, password: PASSWORD })
    withOld.assertStatus(200)
    await sleep(300)
    assert.lengthOf(mailbox.to(user.email), 0)
  })

  test('answers 422 on password for a short, common or over-long new one', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    const other = await signIn(client, user.email)
    const token = await signIn(client, user.email)
    const hash = await storedPasswordHash(user)

    for (const password of ['short', 'password', 'x'.repeat(129)]) {
      const response = await client
        .put(PASSWORD_URL)
        .bearerToken(token)
        .json({ currentPassword: PASSWORD, password })
      assertInvalidOn(assert, response, 'password')
    }

    assert.equal(await storedPasswordHash(user), hash)
    const otherMe = await client.get(ME).bearerToken(other)
    otherMe.assertStatus(200)
  })

  test('answers 401 without a valid token', async ({ client, assert }) => {
    for (const request of [
      client.put(PASSWORD_URL),
      client.put(PASSWORD_URL).bearerToken('oat_not-a-token'),
    ]) {
      const response = await request.json({ currentPassword: PASSWORD, password: NEW_PASSWORD })
      response.assertStatus(401)
      assert.equal(response.body().errors[0].code, 'E_UNAUTHORIZED_ACCESS')
    }
  })
})
