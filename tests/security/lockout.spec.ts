import { test } from '@japa/runner'
import User from '#models/user'
import UserRoles from '#commands/user_roles'
import { resetRateLimits, signedInUser } from '#tests/helpers/accounts'
import { assertError } from '#tests/helpers/assertions'
import { adminsAmong, removeEveryAdmin, runCommand } from '#tests/helpers/commands'
import { statusWith } from '#tests/helpers/tokens'

const USERS = '/api/v1/admin/users'

test.group('Security | A8 no lock-out', (group) => {
  group.each.setup(() => resetRateLimits())

  test('A8: the only admin cannot demote themself: 409 E_CONFLICT, still admin', async ({
    client,
    assert,
  }) => {
    await removeEveryAdmin()
    const { user, token } = await signedInUser(client, { roles: ['admin', 'user'] })

    for (const roles of [['user'], [], ['support']]) {
      const response = await client
        .put(`${USERS}/${user.id}/roles`)
        .bearerToken(token)
        .json({ roles })
      assertError(assert, response, 409, 'E_CONFLICT')
    }

    const stored = await User.findOrFail(user.id)
    assert.deepEqual(stored.roles, ['admin', 'user'])
    assert.equal(await statusWith(client, token, USERS), 200)
  })

  test('A8: the last admin can still change their other roles', async ({ client, assert }) => {
    await removeEveryAdmin()
    const { user, token } = await signedInUser(client, { roles: ['admin', 'user'] })

    const response = await client
      .put(`${USERS}/${user.id}/roles`)
      .bearerToken(token)
      .json({ roles: ['support', 'admin'] })

    response.assertStatus(200)
    assert.deepEqual(response.body().data.roles, ['support', 'admin'])
  })

  test('A8: with two admins one may demote the other, then the remaining one is protected', async ({
    client,
    assert,
  }) => {
    await removeEveryAdmin()
    const first = await signedInUser(client, { roles: ['admin'] })
    const second = await signedInUser(client, { roles: ['admin'] })

    const demoted = await client
      .put(`${USERS}/${second.user.id}/roles`)
      .bearerToken(first.token)
      .json({ roles: ['user'] })
    demoted.assertStatus(200)

    const refused = await client
      .put(`${USERS}/${first.user.id}/roles`)
      .bearerToken(first.token)
      .json({ roles: ['user'] })
    assertError(assert, refused, 409, 'E_CONFLICT')
    assert.deepEqual(await adminsAmong([first.user.id, second.user.id]), [first.user.id])
  })

  test('A8: two admins demoting each other at once leave exactly one admin', async ({
    client,
    assert,
  }) => {
    for (let round = 0; round < 15; round++) {
      await removeEveryAdmin()
      const first = await signedInUser(client, { roles: ['admin'] })
      const second = await signedInUser(client, { roles: ['admin'] })

      const responses = await Promise.all([
        client
          .put(`${USERS}/${second.user.id}/roles`)
          .bearerToken(first.token)
          .json({ roles: ['user'] }),
        client
          .put(`${USERS}/${first.user.id}/roles`)
          .bearerToken(second.token)
          .json({ roles: ['user'] }),
      ])

      const statuses = responses.map((response) => response.status())
      assert.include(statuses, 200, `round ${round}: ${statuses}`)
      for (const status of statuses) assert.oneOf(status, [200, 403, 409], `round ${round}`)
      assert.lengthOf(
        await adminsAmong([first.user.id, second.user.id]),
        1,
        `round ${round}: ${statuses}`
      )
    }
  })

  test('A8: an operator restores a demoted admin from the command line', async ({
    client,
    assert,
  }) => {
    await removeEveryAdmin()
    const keeper = await signedInUser(client, { roles: ['admin'] })
    const { user, token } = await signedInUser(client, { roles: ['admin'] })
    await client
      .put(`${USERS}/${user.id}/roles`)
      .bearerToken(keeper.token)
      .json({ roles: ['user'] })
    assert.equal(await statusWith(client, token, USERS), 403)

    const command = await runCommand(UserRoles, [
      user.email.toUpperCase(),
      '--role=admin',
      '--role=user',
    ])

    command.assertSucceeded()
    const stored = await User.findOrFail(user.id)
    assert.sameMembers(stored.roles, ['admin', 'user'])
    assert.equal(await statusWith(client, token, USERS), 200)
  })

  test('A8: the command line refuses to demote the last admin too', async ({ client, assert }) => {
    await removeEveryAdmin()
    const { user, token } = await signedInUser(client, { roles: ['admin'] })

    const command = await runCommand(UserRoles, [user.email, '--role=user'])

    command.assertFailed()
    assert.include(command.output(), 'last user with the admin role')
    const stored = await User.findOrFail(user.id)
    assert.deepEqual(stored.roles, ['admin'])
    assert.equal(await statusWith(client, token, USERS), 200)
  })
})
