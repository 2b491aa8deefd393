import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import type User from '#models/user'
import { PASSWORD, createUser, resetRateLimits, tokenRows } from '#tests/helpers/accounts'
import { assertError } from '#tests/helpers/assertions'
import { issuedId, statusWith } from '#tests/helpers/tokens'

const SESSIONS = '/api/v1/me/sessions'
const SIGNIN = '/api/v1/auth/signin'
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/

/**
 * Signs in over HTTP with a device name; the token and its row id (read
 * from the token string: `oat_<base64url(id)>.<secret>`).
 */
async function session(client: ApiClient, user: User, deviceName: string) {
  const response = await client
    .post(SIGNIN)
    .json({ email: user.email, password: PASSWORD, deviceName })
  response.assertStatus(200)
  const token: string = response.body().data.token
  const id = Number(Buffer.from(token.slice(4, token.indexOf('.')), 'base64url').toString())
  return { token, id }
}

test.group('Me | sessions', (group) => {
  group.each.setup(() => resetRateLimits())

  test('lists only access tokens, newest first, with exactly the presented one current', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    const phone = await session(client, user, 'Phone')
    const laptop = await session(client, user, 'Laptop')
    const tablet = await session(client, user, 'Tablet')
    const verification = await issuedId(user, 'email_verification')
    const reset = await issuedId(user, 'password_reset')

    const response = await client.get(SESSIONS).bearerToken(laptop.token)

    response.assertStatus(200)
    const body = response.body()
    assert.deepEqual(Object.keys(body), ['data'])
    const sessions: Array<Record<string, any>> = body.data
    assert.deepEqual(
      sessions.map((entry) => entry.id),
      [tablet.id, laptop.id, phone.id]
    )
    assert.deepEqual(
      sessions.map((entry) => entry.name),
      ['Tablet', 'Laptop', 'Phone']
    )
    for (const entry of sessions) {
      assert.sameMembers(Object.keys(entry), [
        'id',
        'name',
        'createdAt',
        'lastUsedAt',
        'expiresAt',
        'current',
      ])
      assert.match(entry.createdAt, ISO_UTC)
      assert.match(entry.expiresAt, ISO_UTC)
      if (entry.lastUsedAt !== null) assert.match(entry.lastUsedAt, ISO_UTC)
      assert.isBoolean(entry.current)
    }
    const created = sessions.map((entry) => Date.parse(entry.createdAt))
    assert.deepEqual(
      created,
      [...created].sort((a, b) => b - a)
    )
    assert.deepEqual(
      sessions.filter((entry) => entry.current).map((entry) => entry.id),
      [laptop.id]
    )
    const ids = sessions.map((entry) => entry.id)
    assert.notInclude(ids, verification)
    assert.notInclude(ids, reset)
  })

  test('revokes one session with 204 and its token is refused after', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    const doomed = await session(client, user, 'Old phone')
    const current = await session(client, user, 'Laptop')

    const response = await client.delete(`${SESSIONS}/${doomed.id}`).bearerToken(current.token)

    response.assertStatus(204)
    assert.equal(response.text(), '')
    assert.equal(await statusWith(client, doomed.token), 401)
    assert.equal(await statusWith(client, current.token), 200)
    const rows = await tokenRows(user.id, 'access')
    assert.deepEqual(
      rows.map((row) => Number(row.id)),
      [current.id]
    )
  })

  test('answers 404 e_row_not_found for another user’s session and leaves it alone', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    const stranger = await createUser()
    const mine = await session(client, user, 'Mine')
    const theirs = await session(client, stranger, 'Theirs')

    const response = await client.delete(`${SESSIONS}/${theirs.id}`).bearerToken(mine.token)

    assertError(assert, response, 404, 'E_ROW_NOT_FOUND')
    assert.equal(await statusWith(client, theirs.token), 200)
    assert.lengthOf(await tokenRows(stranger.id, 'access'), 1)
  })

  test('answers 404 e_row_not_found for the user’s own reset and verification tokens', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    const mine = await session(client, user, 'Mine')
    const verification = await issuedId(user, 'email_verification')
    const reset = await issuedId(user, 'password_reset')

    for (const id of [verification, reset]) {
      const response = await client.delete(`${SESSIONS}/${id}`).bearerToken(mine.token)
      assertError(assert, response, 404, 'E_ROW_NOT_FOUND')
    }
    assert.lengthOf(await tokenRows(user.id, 'email_verification'), 1)
    assert.lengthOf(await tokenRows(user.id, 'password_reset'), 1)
  })

  test('answers 404 e_row_not_found for an unknown session id', async ({ client, assert }) => {
    const user = await createUser()
    const mine = await session(client, user, 'Mine')

    for (const id of ['999999999', '9999999999999999']) {
      const response = await client.delete(`${SESSIONS}/${id}`).bearerToken(mine.token)
      assertError(assert, response, 404, 'E_ROW_NOT_FOUND')
    }
    assert.equal(await statusWith(client, mine.token), 200)
  })

  test('revokes every other session with 204 and keeps the presented one', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    const bystander = await createUser()
    const first = await session(client, user, 'First')
    const presented = await session(client, user, 'Presented')
    const last = await session(client, user, 'Last')
    const other = await session(client, bystander, 'Other')
    const reset = await issuedId(user, 'password_reset')

    const response = await client.delete(SESSIONS).bearerToken(presented.token)

    response.assertStatus(204)
    assert.equal(response.text(), '')
    assert.equal(await statusWith(client, first.token), 401)
    assert.equal(await statusWith(client, last.token), 401)
    assert.equal(await statusWith(client, presented.token), 200)
    assert.equal(await statusWith(client, other.token), 200)
    const rows = await tokenRows(user.id, 'access')
    assert.deepEqual(
      rows.map((row) => Number(row.id)),
      [presented.id]
    )
    const resets = await tokenRows(user.id, 'password_reset')
    assert.deepEqual(
      resets.map((row) => Number(row.id)),
      [reset]
    )
  })

  test('answers 401 without a valid token on all three routes', async ({ client, assert }) => {
    const user = await createUser()
    const mine = await session(client, user, 'Mine')

    const responses = [
      await client.get(SESSIONS),
      await client.delete(`${SESSIONS}/${mine.id}`),
      await client.delete(SESSIONS),
      await client.get(SESSIONS).bearerToken('oat_not-a-token'),
      await client.delete(`${SESSIONS}/${mine.id}`).bearerToken('oat_not-a-token'),
      await client.delete(SESSIONS).bearerToken('oat_not-a-token'),
    ]
    for (const response of responses) {
      response.assertStatus(401)
      assert.equal(response.body().errors[0].code, 'E_UNAUTHORIZED_ACCESS')
    }
    assert.equal(await statusWith(client, mine.token), 200)
  })
})
