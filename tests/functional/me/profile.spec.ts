import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import User from '#models/user'
import { resetRateLimits, signedInUser, tokenModule } from '#tests/helpers/accounts'
import { assertInvalidOn, assertError } from '#tests/helpers/assertions'

const ME = '/api/v1/me'
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/
const USER_KEYS = ['id', 'email', 'name', 'roles', 'emailVerifiedAt', 'createdAt']

/**
 * Every key of a JSON value, at any depth.
 */
function allKeys(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(allKeys)
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, nested]) => [key, ...allKeys(nested)])
  }
  return []
}

test.group('Me | profile', (group) => {
  group.each.setup(() => resetRateLimits())

  test('answers 200 with the signed-in user and nothing secret', async ({ client, assert }) => {
    const { user, token } = await signedInUser(client, { name: 'Hedy' })
    const stored = await User.findOrFail(user.id)

    const response = await client.get(ME).bearerToken(token)

    response.assertStatus(200)
    const body = response.body()
    assert.deepEqual(Object.keys(body), ['data'])
    assert.sameMembers(Object.keys(body.data), USER_KEYS)
    assert.include(body.data, { id: user.id, email: user.email, name: 'Hedy' })
    assert.deepEqual(body.data.roles, ['user'])
    assert.match(body.data.emailVerifiedAt, ISO_UTC)
    assert.match(body.data.createdAt, ISO_UTC)
    assert.equal(Date.parse(body.data.createdAt), stored.createdAt.toMillis())

    const keys = allKeys(body).map((key) => key.toLowerCase())
    for (const secret of ['password', 'hash', 'token']) {
      assert.isFalse(
        keys.some((key) => key.includes(secret)),
        `"${secret}" key in the body`
      )
    }
    const text = JSON.stringify(body)
    assert.notInclude(text, stored.password)
    assert.notInclude(text, token)
  })

  test('renames the user with a trimmed name and answers 200 with the user', async ({
    client,
    assert,
  }) => {
    const { user, token } = await signedInUser(client, { name: 'Old Name' })

    const response = await client.patch(ME).bearerToken(token).json({ name: '  Ada Lovelace  ' })

    response.assertStatus(200)
    const body = response.body()
    assert.deepEqual(Object.keys(body), ['data'])
    assert.sameMembers(Object.keys(body.data), USER_KEYS)
    assert.include(body.data, { id: user.id, email: user.email, name: 'Ada Lovelace' })

    const stored = await User.findOrFail(user.id)
    assert.equal(stored.name, 'Ada Lovelace')
    const me = await client.get(ME).bearerToken(token)
    assert.equal(me.body().data.name, 'Ada Lovelace')
  })

  test('answers 422 on name for an empty, blank, missing or over-long name and keeps the old one', async ({
    client,
    assert,
  }) => {
    const { user, token } = await signedInUser(client, { name: 'Kept' })

    for (const body of [{ name: '' }, { name: '   ' }, {}, { name: 'n'.repeat(101) }]) {
      const response = await client.patch(ME).bearerToken(token).json(body)
      assertInvalidOn(assert, response, 'name')
    }

    const stored = await User.findOrFail(user.id)
    assert.equal(stored.name, 'Kept')
  })

  test('clears the name with null', async ({ client, assert }) => {
    const { user, token } = await signedInUser(client, { name: 'To Be Cleared' })

    const response = await client.patch(ME).bearerToken(token).json({ name: null })

    response.assertStatus(200)
    assert.isNull(response.body().data.name)
    const stored = await User.findOrFail(user.id)
    assert.isNull(stored.name)
    const me = await client.get(ME).bearerToken(token)
    assert.isNull(me.body().data.name)
  })

  test('accepts a name of exactly 100 characters', async ({ client, assert }) => {
    const { user, token } = await signedInUser(client)
    const name = 'n'.repeat(100)

    const response = await client.patch(ME).bearerToken(token).json({ name })

    response.assertStatus(200)
    const stored = await User.findOrFail(user.id)
    assert.equal(stored.name, name)
  })

  test('answers 401 to reading or renaming without a token, with garbage or with a verification or reset token', async ({
    client,
    assert,
  }) => {
    const { user } = await signedInUser(client, { name: 'Untouched' })

    assertError(assert, await client.get(ME), 401, 'E_UNAUTHORIZED_ACCESS')
    assertError(
      assert,
      await client.get(ME).bearerToken('oat_not-a-token'),
      401,
      'E_UNAUTHORIZED_ACCESS'
    )
    assertError(
      assert,
      await client.patch(ME).json({ name: 'Intruder' }),
      401,
      'E_UNAUTHORIZED_ACCESS'
    )
    assertError(
      assert,
      await client.patch(ME).bearerToken('oat_not-a-token').json({ name: 'Intruder' }),
      401,
      'E_UNAUTHORIZED_ACCESS'
    )

    const tokens = await tokenModule()
    for (const type of ['email_verification', 'password_reset'] as const) {
      const issued = await tokens.create(user, type)
      const wrongType = issued.value!.release()
      assertError(assert, await client.get(ME).bearerToken(wrongType), 401, 'E_UNAUTHORIZED_ACCESS')
      assertError(
        assert,
        await client.patch(ME).bearerToken(wrongType).json({ name: 'Intruder' }),
        401,
        'E_UNAUTHORIZED_ACCESS'
      )
    }

    const stored = await User.findOrFail(user.id)
    assert.equal(stored.name, 'Untouched')
  })

  test('answers 401 to an expired access token', async ({ client, assert }) => {
    const { user, token } = await signedInUser(client)
    await db
      .from('tokens')
      .where({ tokenable_id: user.id, type: 'access' })
      .update({ expires_at: new Date(Date.now() - 1000) })

    assertError(assert, await client.get(ME).bearerToken(token), 401, 'E_UNAUTHORIZED_ACCESS')
    assertError(
      assert,
      await client.patch(ME).bearerToken(token).json({ name: 'Late' }),
      401,
      'E_UNAUTHORIZED_ACCESS'
    )
  })
})
