import { setTimeout as sleep } from 'node:timers/promises'
import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import settings from '#config/setting'
import User from '#models/user'
import { createUser, tokenModule, withSettings } from '#tests/helpers/accounts'
import {
  SEED_LENGTH,
  forge,
  unpack,
  wrongSecretFor,
  issue,
  tokenRow,
  setColumns,
  poll,
  countQueries,
} from '#tests/helpers/token_forgery'

/**
 * `TokenModule.verify` and `authenticate`: checks, refusals and `last_used_at`.
 */
test.group('Tokens | verification', () => {
  /*
  |--------------------------------------------------------------------------
  | verify
  |--------------------------------------------------------------------------
  */

  test('verify returns the token for a valid value', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const { value, id } = await issue(user, 'access', 'Laptop')

    const token = await tokens.verify(value, 'access')

    assert.isNotNull(token)
    assert.equal(token!.identifier, id)
    assert.equal(token!.tokenableId, user.id)
    assert.equal(token!.type, 'access')
    assert.equal(token!.name, 'Laptop')
    assert.isUndefined(token!.value)
  })

  test('verify returns null for a token of another type', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const verification = await issue(user, 'email_verification')
    const reset = await issue(user, 'password_reset')
    const access = await issue(user, 'access')

    assert.isNull(await tokens.verify(verification.value, 'access'))
    assert.isNull(await tokens.verify(reset.value, 'access'))
    assert.isNull(await tokens.verify(access.value, 'password_reset'))
    assert.isNull(await tokens.verify(verification.value, 'password_reset'))

    const reprefixed = `oat_${verification.value.slice(4)}`
    assert.isNull(await tokens.verify(reprefixed, 'access'))
    const resetAsVerification = `evt_${reset.value.slice(4)}`
    assert.isNull(await tokens.verify(resetAsVerification, 'email_verification'))
    assert.isNotNull(await tokens.verify(verification.value, 'email_verification'))
  })

  test('verify returns null for a wrong secret and writes nothing', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const { value, id } = await issue(user, 'access')
    const before = await tokenRow(id)

    assert.isNull(await tokens.verify(wrongSecretFor(value), 'access'))
    assert.isNull(await tokens.authenticate(wrongSecretFor(value)))

    await sleep(300)
    const after = await tokenRow(id)
    assert.isNull(after.last_used_at)
    assert.deepEqual(after, before)
  })

  test('verify rejects a malformed or forged token without a query', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const { value } = await issue(user, 'access')
    const { prefix, id, secret } = unpack(value)
    const forged = forge(prefix, id, `${secret.slice(0, SEED_LENGTH)}1`)

    const rejected = await countQueries(async () => {
      assert.isNull(await tokens.verify(forged, 'access'))
      assert.isNull(await tokens.verify('oat_garbage', 'access'))
      assert.isNull(await tokens.verify(value, 'email_verification'))
      assert.isNull(await tokens.authenticate(forged))
    })
    assert.equal(rejected, 0)

    const accepted = await countQueries(() => tokens.verify(value, 'access'))
    assert.isAtLeast(accepted, 1)
  })

  test('verify returns null for an expired token', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const access = await issue(user, 'access')
    const reset = await issue(user, 'password_reset')
    const past = new Date(Date.now() - 1000)
    await setColumns(access.id, { expires_at: past })
    await setColumns(reset.id, { expires_at: past })

    assert.isNull(await tokens.verify(access.value, 'access'))
    assert.isNull(await tokens.verify(reset.value, 'password_reset'))
    assert.isNull(await tokens.authenticate(access.value))
  })

  test('verify returns null for an access token idle beyond the timeout', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const idle = settings.tokens.accessIdleTimeout!
    assert.isNumber(idle)
    const used = await issue(user, 'access')
    const neverUsed = await issue(user, 'access')
    const recent = await issue(user, 'access')
    const longAgo = new Date(Date.now() - (idle + 60) * 1000)
    const aWhileAgo = new Date(Date.now() - (idle - 60) * 1000)

    await setColumns(used.id, { created_at: longAgo, last_used_at: longAgo })
    await setColumns(neverUsed.id, { created_at: longAgo, last_used_at: null })
    await setColumns(recent.id, { created_at: longAgo, last_used_at: aWhileAgo })

    assert.isNull(await tokens.verify(used.value, 'access'))
    assert.isNull(await tokens.verify(neverUsed.value, 'access'))
    assert.isNull(await tokens.authenticate(used.value))
    assert.isNotNull(await tokens.verify(recent.value, 'access'))
  })

  test('verify records last_used_at after a successful check', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const { value, id } = await issue(user, 'access')

    const startedAt = Date.now()
    assert.isNotNull(await tokens.verify(value, 'access'))

    const row = await poll(
      () => tokenRow(id),
      (current) => current.last_used_at !== null
    )
    assert.isNotNull(row.last_used_at)
    assert.closeTo(new Date(row.last_used_at).getTime(), startedAt, 5000)
  })

  test('verify does not rewrite last_used_at within the write interval', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const { value, id } = await issue(user, 'access')

    assert.isNotNull(await tokens.verify(value, 'access'))
    const first = await poll(
      () => tokenRow(id),
      (current) => current.last_used_at !== null
    )
    assert.isNotNull(first.last_used_at)

    await sleep(50)
    assert.isNotNull(await tokens.verify(value, 'access'))
    assert.isNotNull(await tokens.authenticate(value))
    await sleep(300)

    const second = await tokenRow(id)
    assert.equal(new Date(second.last_used_at).getTime(), new Date(first.last_used_at).getTime())
  })

  test('verify rewrites last_used_at once the write interval has passed', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const { value, id } = await issue(user, 'access')

    await withSettings(
      (current) => (current.tokens.lastUsedInterval = 1),
      async () => {
        assert.isNotNull(await tokens.verify(value, 'access'))
        const first = await poll(
          () => tokenRow(id),
          (current) => current.last_used_at !== null
        )
        const firstUse = new Date(first.last_used_at).getTime()

        await sleep(1200)
        assert.isNotNull(await tokens.verify(value, 'access'))
        const second = await poll(
          () => tokenRow(id),
          (current) => new Date(current.last_used_at).getTime() > firstUse
        )
        assert.isAbove(new Date(second.last_used_at).getTime(), firstUse)
      }
    )
  })

  /*
  |--------------------------------------------------------------------------
  | authenticate
  |--------------------------------------------------------------------------
  */

  test('authenticate returns the token and its user with fresh roles', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser({ roles: ['user'], name: 'Ada' })
    const { value, id } = await issue(user, 'access')

    const first = await tokens.authenticate(value)
    assert.isNotNull(first)
    assert.equal(first!.token.identifier, id)
    assert.instanceOf(first!.user, User)
    assert.equal(first!.user.id, user.id)
    assert.equal(first!.user.email, user.email)
    assert.equal(first!.user.name, 'Ada')
    assert.deepEqual(first!.user.roles, ['user'])
    assert.isTrue(first!.user.isVerified)
    // what /me answers, read from the same row without the model
    assert.deepEqual(first!.profile, first!.user.profile)
    // the password hash is not read on a signed-in request
    assert.isUndefined(first!.user.password)

    await db
      .from('users')
      .where('id', user.id)
      .update({ roles: ['user', 'admin'] })
    const promoted = await tokens.authenticate(value)
    assert.deepEqual(promoted!.user.roles, ['user', 'admin'])

    await db
      .from('users')
      .where('id', user.id)
      .update({ roles: ['user'] })
    const demoted = await tokens.authenticate(value)
    assert.deepEqual(demoted!.user.roles, ['user'])
  })

  test('authenticate returns null for bad tokens', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const { value } = await issue(user, 'access')
    const verification = await issue(user, 'email_verification')
    const revoked = await issue(user, 'access')
    await tokens.revoke(user, revoked.id)

    assert.isNull(await tokens.authenticate(undefined))
    assert.isNull(await tokens.authenticate(''))
    assert.isNull(await tokens.authenticate('oat_garbage'))
    assert.isNull(await tokens.authenticate(wrongSecretFor(value)))
    assert.isNull(await tokens.authenticate(verification.value))
    assert.isNull(await tokens.authenticate(`oat_${verification.value.slice(4)}`))
    assert.isNull(await tokens.authenticate(revoked.value))
    assert.isNotNull(await tokens.authenticate(value))
  })
})
