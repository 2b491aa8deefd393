import { randomUUID } from 'node:crypto'
import { test } from '@japa/runner'
import type { ApiClient, ApiResponse } from '@japa/api-client'
import User from '#models/user'
import {
  createUser,
  resetRateLimits,
  signIn,
  signedInUser,
  tokenRows,
} from '#tests/helpers/accounts'
import { assertInvalidOn, assertError } from '#tests/helpers/assertions'
import { statusWith } from '#tests/helpers/tokens'

const USERS = '/api/v1/admin/users'
const USER_KEYS = ['id', 'email', 'name', 'roles', 'emailVerifiedAt', 'createdAt']
const UNKNOWN_ID = '9999999999999999'

/**
 * A string no other test puts in an email or a name, so list assertions do
 * not depend on the rows other tests leave behind.
 */
function marker() {
  return `m${randomUUID().replaceAll('-', '').slice(0, 12)}`
}

async function admin(client: ApiClient) {
  return signedInUser(client, { roles: ['admin'] })
}

async function list(client: ApiClient, token: string, query: Record<string, string | number>) {
  return client.get(USERS).qs(query).bearerToken(token)
}

function ids(response: ApiResponse): number[] {
  return response.body().data.map((user: { id: number }) => user.id)
}

test.group('Admin | users', (group) => {
  group.each.setup(() => resetRateLimits())

  test('lists users as { data, meta } with the total, page and perPage', async ({
    client,
    assert,
  }) => {
    const { token } = await admin(client)
    const tag = marker()
    const created = [
      await createUser({ email: `${tag}-a@example.com`, name: 'Alpha' }),
      await createUser({ email: `${tag}-b@example.com`, verified: false }),
    ]

    const response = await list(client, token, { q: tag })

    response.assertStatus(200)
    const body = response.body()
    assert.sameMembers(Object.keys(body), ['data', 'meta'])
    assert.sameMembers(Object.keys(body.meta), ['total', 'page', 'perPage'])
    assert.equal(body.meta.total, 2)
    assert.equal(body.meta.page, 1)
    assert.isAtLeast(body.meta.perPage, 2)
    assert.sameMembers(
      ids(response),
      created.map((user) => user.id)
    )
    for (const user of body.data) {
      assert.sameMembers(Object.keys(user), USER_KEYS)
      const stored = created.find((candidate) => candidate.id === user.id)!
      assert.equal(user.email, stored.email)
      assert.deepEqual(user.roles, ['user'])
    }
    assert.notInclude(JSON.stringify(body), created[0].password)
    const unverified = body.data.find((user: { id: number }) => user.id === created[1].id)
    assert.isNull(unverified.emailVerifiedAt)
  })

  test('honours page and perPage', async ({ client, assert }) => {
    const { token } = await admin(client)
    const tag = marker()
    const created: number[] = []
    for (let index = 0; index < 5; index++) {
      const user = await createUser({ email: `${tag}-${index}@example.com` })
      created.push(user.id)
    }

    const pages = [
      await list(client, token, { q: tag, perPage: 2, page: 1 }),
      await list(client, token, { q: tag, perPage: 2, page: 2 }),
      await list(client, token, { q: tag, perPage: 2, page: 3 }),
      await list(client, token, { q: tag, perPage: 2, page: 4 }),
    ]

    pages.forEach((response, index) => {
      response.assertStatus(200)
      assert.deepEqual(response.body().meta, { total: 5, page: index + 1, perPage: 2 })
    })
    assert.deepEqual(
      pages.map((response) => ids(response).length),
      [2, 2, 1, 0]
    )
    const seen = pages.flatMap(ids)
    assert.lengthOf(new Set(seen), 5)
    assert.sameMembers(seen, created)
  })

  test('filters with q by email or by name', async ({ client, assert }) => {
    const { token } = await admin(client)
    const tag = marker()
    const byEmail = await createUser({ email: `${tag}@example.com` })
    const byName = await createUser({ name: `Someone ${tag} Else` })
    await createUser({ name: 'Unrelated' })

    const response = await list(client, token, { q: tag })

    response.assertStatus(200)
    assert.sameMembers(ids(response), [byEmail.id, byName.id])
    assert.equal(response.body().meta.total, 2)
  })

  test('treats % and _ in q literally', async ({ client, assert }) => {
    const { token } = await admin(client)
    const tag = marker()
    const underscore = await createUser({ email: `${tag}a_b@example.com` })
    const percent = await createUser({ email: `${tag}a%b@example.com` })
    const plain = await createUser({ email: `${tag}axb@example.com` })

    const withUnderscore = await list(client, token, { q: `${tag}a_b` })
    const withPercent = await list(client, token, { q: `${tag}a%b` })
    const both = await list(client, token, { q: tag })

    withUnderscore.assertStatus(200)
    withPercent.assertStatus(200)
    assert.deepEqual(ids(withUnderscore), [underscore.id])
    assert.deepEqual(ids(withPercent), [percent.id])
    assert.sameMembers(ids(both), [underscore.id, percent.id, plain.id])
  })

  test('answers 422 for perPage 0, perPage 1000 and page abc', async ({ client, assert }) => {
    const { token } = await admin(client)

    assertInvalidOn(assert, await list(client, token, { perPage: 0 }), 'perPage', { nested: true })
    assertInvalidOn(assert, await list(client, token, { perPage: 1000 }), 'perPage', {
      nested: true,
    })
    assertInvalidOn(assert, await list(client, token, { page: 'abc' }), 'page', { nested: true })
  })

  test('replaces the roles, deduplicated, and the user’s next request sees them', async ({
    client,
    assert,
  }) => {
    const { token } = await admin(client)
    const target = await signedInUser(client)
    assert.equal(await statusWith(client, target.token, USERS), 403)

    const response = await client
      .put(`${USERS}/${target.user.id}/roles`)
      .bearerToken(token)
      .json({ roles: ['admin', 'user', 'admin', 'user'] })

    response.assertStatus(200)
    const body = response.body()
    assert.deepEqual(Object.keys(body), ['data'])
    assert.sameMembers(Object.keys(body.data), USER_KEYS)
    assert.equal(body.data.id, target.user.id)
    assert.lengthOf(body.data.roles, 2)
    assert.sameMembers(body.data.roles, ['admin', 'user'])

    const stored = await User.findOrFail(target.user.id)
    assert.sameMembers(stored.roles, ['admin', 'user'])
    assert.lengthOf(stored.roles, 2)
    assert.equal(await statusWith(client, target.token, USERS), 200)
  })

  test('takes a demotion into effect on the user’s next request', async ({ client, assert }) => {
    const { token } = await admin(client)
    const target = await signedInUser(client, { roles: ['admin'] })
    assert.equal(await statusWith(client, target.token, USERS), 200)

    const response = await client
      .put(`${USERS}/${target.user.id}/roles`)
      .bearerToken(token)
      .json({ roles: ['user'] })

    response.assertStatus(200)
    assert.deepEqual(response.body().data.roles, ['user'])
    const refused = await client.get(USERS).bearerToken(target.token)
    assertError(assert, refused, 403, 'E_AUTHORIZATION_FAILURE')
  })

  test('answers 422 on roles when they are not an array of valid role names', async ({
    client,
    assert,
  }) => {
    const { token } = await admin(client)
    const target = await createUser()

    for (const body of [
      { roles: 'admin' },
      { roles: ['Admin!'] },
      { roles: ['has space'] },
      { roles: [42] },
      {},
    ]) {
      const response = await client.put(`${USERS}/${target.id}/roles`).bearerToken(token).json(body)
      assertInvalidOn(assert, response, 'roles', { nested: true })
    }

    const stored = await User.findOrFail(target.id)
    assert.deepEqual(stored.roles, ['user'])
  })

  test('says what a role name may contain instead of naming the item by its index', async ({
    client,
    assert,
  }) => {
    const { token } = await admin(client)
    const target = await createUser()

    const response = await client
      .put(`${USERS}/${target.id}/roles`)
      .bearerToken(token)
      .json({ roles: ['user', 'Admin!', 42] })

    response.assertStatus(422)
    const errors: Array<{ field: string; message: string; rule: string }> = response.body().errors
    assert.deepEqual(
      errors.map((entry) => [entry.field, entry.rule]),
      [
        ['roles.1', 'regex'],
        ['roles.2', 'string'],
      ]
    )
    assert.match(errors[0].message, /role name starts with a lowercase letter/)
    assert.include(errors[0].message, 'digits, "_" or "-"')
    assert.match(errors[1].message, /role name/)
    for (const entry of errors) assert.notMatch(entry.message, /\b[0-9] field\b/)
  })

  test('answers 404 e_row_not_found for an unknown user id', async ({ client, assert }) => {
    const { token } = await admin(client)

    const roles = await client
      .put(`${USERS}/${UNKNOWN_ID}/roles`)
      .bearerToken(token)
      .json({ roles: ['user'] })
    assertError(assert, roles, 404, 'E_ROW_NOT_FOUND')

    const sessions = await client.delete(`${USERS}/${UNKNOWN_ID}/sessions`).bearerToken(token)
    assertError(assert, sessions, 404, 'E_ROW_NOT_FOUND')
  })

  test('signs the user out everywhere with 204', async ({ client, assert }) => {
    const { token } = await admin(client)
    const target = await createUser()
    const bystander = await signedInUser(client)
    const sessions = [await signIn(client, target.email), await signIn(client, target.email)]

    const response = await client.delete(`${USERS}/${target.id}/sessions`).bearerToken(token)

    response.assertStatus(204)
    assert.equal(response.text(), '')
    for (const session of sessions) {
      assert.equal(await statusWith(client, session), 401)
    }
    assert.lengthOf(await tokenRows(target.id, 'access'), 0)
    assert.equal(await statusWith(client, token), 200)
    assert.equal(await statusWith(client, bystander.token), 200)
  })

  test('answers 403 e_authorization_failure to a non-admin on all three routes', async ({
    client,
    assert,
  }) => {
    const { token } = await signedInUser(client)
    const target = await signedInUser(client)

    const responses = [
      await client.get(USERS).bearerToken(token),
      await client
        .put(`${USERS}/${target.user.id}/roles`)
        .bearerToken(token)
        .json({ roles: ['admin'] }),
      await client.delete(`${USERS}/${target.user.id}/sessions`).bearerToken(token),
    ]

    for (const response of responses) assertError(assert, response, 403, 'E_AUTHORIZATION_FAILURE')
    const stored = await User.findOrFail(target.user.id)
    assert.deepEqual(stored.roles, ['user'])
    assert.equal(await statusWith(client, target.token), 200)
  })

  test('answers 401 without a valid token on all three routes', async ({ client, assert }) => {
    const target = await signedInUser(client)

    for (const bearer of [null, 'oat_not-a-token']) {
      const requests = [
        client.get(USERS),
        client.put(`${USERS}/${target.user.id}/roles`).json({ roles: ['admin'] }),
        client.delete(`${USERS}/${target.user.id}/sessions`),
      ]
      for (const request of requests) {
        const response = await (bearer ? request.bearerToken(bearer) : request)
        assertError(assert, response, 401, 'E_UNAUTHORIZED_ACCESS')
      }
    }
    const stored = await User.findOrFail(target.user.id)
    assert.deepEqual(stored.roles, ['user'])
    assert.equal(await statusWith(client, target.token), 200)
  })
})
