import { test } from '@japa/runner'
import settings from '#config/setting'
import User from '#models/user'
import {
  PASSWORD,
  createUser,
  resetRateLimits,
  signIn,
  tokenRows,
  uniqueEmail,
  withSettings,
} from '#tests/helpers/accounts'
import { assertInvalid, assertError } from '#tests/helpers/assertions'

const SIGNIN = '/api/v1/auth/signin'
const ME = '/api/v1/me'
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/
const DAY_MS = 24 * 60 * 60 * 1000

test.group('Auth | signin', (group) => {
  group.each.setup(() => resetRateLimits())

  test('answers 200 with a bearer token that expires in 30 days and the user', async ({
    client,
    assert,
  }) => {
    const created = await createUser({ name: 'Grace' })
    const stored = await User.findOrFail(created.id)
    const before = Date.now()
    const response = await client.post(SIGNIN).json({ email: created.email, password: PASSWORD })

    response.assertStatus(200)
    const body = response.body()
    assert.deepEqual(Object.keys(body), ['data'])
    assert.sameMembers(Object.keys(body.data), ['type', 'token', 'expiresAt', 'user'])
    assert.equal(body.data.type, 'bearer')
    assert.match(body.data.token, /^oat_/)

    assert.match(body.data.expiresAt, ISO_UTC)
    const expiresAt = Date.parse(body.data.expiresAt)
    assert.isAtLeast(expiresAt, before + 30 * DAY_MS - 60_000)
    assert.isAtMost(expiresAt, Date.now() + 30 * DAY_MS + 60_000)

    const user = body.data.user
    assert.sameMembers(Object.keys(user), [
      'id',
      'email',
      'name',
      'roles',
      'emailVerifiedAt',
      'createdAt',
    ])
    assert.include(user, { id: created.id, email: created.email, name: 'Grace' })
    assert.deepEqual(user.roles, ['user'])
    assert.match(user.emailVerifiedAt, ISO_UTC)
    assert.match(user.createdAt, ISO_UTC)
    assert.equal(Date.parse(user.emailVerifiedAt), stored.emailVerifiedAt!.toMillis())
    assert.equal(Date.parse(user.createdAt), stored.createdAt.toMillis())

    const rows = await tokenRows(created.id, 'access')
    assert.lengthOf(rows, 1)
    const me = await client.get(ME).bearerToken(body.data.token)
    me.assertStatus(200)
    assert.equal(me.body().data.id, created.id)
  })

  test('names the session after deviceName', async ({ client, assert }) => {
    const user = await createUser()
    const response = await client
      .post(SIGNIN)
      .json({ email: user.email, password: PASSWORD, deviceName: 'Pixel 9' })
    response.assertStatus(200)

    const rows = await tokenRows(user.id, 'access')
    assert.lengthOf(rows, 1)
    assert.equal(rows[0].name, 'Pixel 9')
    const sessions = await client.get('/api/v1/me/sessions').bearerToken(response.body().data.token)
    sessions.assertStatus(200)
    assert.equal(sessions.body().data[0].name, 'Pixel 9')
  })

  test('signs in with an empty, blank or null deviceName as a session without a name', async ({
    client,
    assert,
  }) => {
    const user = await createUser()

    for (const deviceName of ['', '   ', null]) {
      const response = await client
        .post(SIGNIN)
        .json({ email: user.email, password: PASSWORD, deviceName })
      response.assertStatus(200)
    }

    const rows = await tokenRows(user.id, 'access')
    assert.lengthOf(rows, 3)
    for (const row of rows) assert.isNull(row.name)
  })

  test('answers 400 e_invalid_credentials with one body for an unknown email and a wrong password', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    const unknown = await client
      .post(SIGNIN)
      .json({ email: uniqueEmail('nobody'), password: PASSWORD })
    const wrong = await client
      .post(SIGNIN)
      .json({ email: user.email, password: 'not the right passphrase' })

    assertError(assert, unknown, 400, 'E_INVALID_CREDENTIALS')
    assertError(assert, wrong, 400, 'E_INVALID_CREDENTIALS')
    assert.deepEqual(wrong.body(), unknown.body())
    assert.lengthOf(await tokenRows(user.id, 'access'), 0)
  })

  test('answers 403 e_email_not_verified for the right password of an unverified account', async ({
    client,
    assert,
  }) => {
    const user = await createUser({ verified: false })
    const response = await client.post(SIGNIN).json({ email: user.email, password: PASSWORD })

    assertError(assert, response, 403, 'E_EMAIL_NOT_VERIFIED')
    assert.lengthOf(await tokenRows(user.id, 'access'), 0)
  })

  test('answers 422 on email and password when both are missing', async ({ client, assert }) => {
    const response = await client.post(SIGNIN).json({})
    assertInvalid(assert, response, { email: 'required', password: 'required' })
  })

  test('answers 422 on email when it is not a string', async ({ client, assert }) => {
    const user = await createUser()
    const response = await client.post(SIGNIN).json({ email: 12345, password: PASSWORD })
    assertInvalid(assert, response, { email: 'string' })
    assert.lengthOf(await tokenRows(user.id, 'access'), 0)
  })

  test('answers 429 with retry-after after 5 failures for one email, even for the right password', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    for (let attempt = 0; attempt < 5; attempt++) {
      const failed = await client
        .post(SIGNIN)
        .json({ email: user.email, password: 'not the right passphrase' })
      failed.assertStatus(400)
    }

    const refused = await client.post(SIGNIN).json({ email: user.email, password: PASSWORD })
    assertError(assert, refused, 429, 'E_TOO_MANY_REQUESTS')
    const retryAfter = refused.header('retry-after')
    assert.match(retryAfter ?? '', /^\d+$/)
    assert.isAbove(Number(retryAfter), 0)
    assert.isAtMost(Number(retryAfter), settings.rateLimits.signin.perIpEmail.block)
    assert.lengthOf(await tokenRows(user.id, 'access'), 0)
  })

  test('revokes the oldest token when a sign-in goes beyond the session cap', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    await withSettings(
      (current) => {
        current.sessions.limit = 2
      },
      async () => {
        const oldest = await signIn(client, user.email)
        const middle = await signIn(client, user.email)
        const newest = await signIn(client, user.email)

        const revoked = await client.get(ME).bearerToken(oldest)
        revoked.assertStatus(401)
        assert.equal(revoked.body().errors[0].code, 'E_UNAUTHORIZED_ACCESS')
        const stillMiddle = await client.get(ME).bearerToken(middle)
        stillMiddle.assertStatus(200)
        const stillNewest = await client.get(ME).bearerToken(newest)
        stillNewest.assertStatus(200)
        assert.lengthOf(await tokenRows(user.id, 'access'), 2)
      }
    )
  })

  test('answers expiresAt null when access tokens are configured not to expire', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    await withSettings(
      (current) => {
        current.tokens.accessTtl = null
      },
      async () => {
        const response = await client.post(SIGNIN).json({ email: user.email, password: PASSWORD })
        response.assertStatus(200)
        assert.isNull(response.body().data.expiresAt)
        assert.match(response.body().data.token, /^oat_/)

        const rows = await tokenRows(user.id, 'access')
        assert.lengthOf(rows, 1)
        assert.isNull(rows[0].expires_at)
      }
    )
  })
})
