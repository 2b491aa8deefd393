import { setTimeout as sleep } from 'node:timers/promises'
import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { createUser, tokenModule } from '#tests/helpers/accounts'
import { wrongSecretFor, issue, tokenRow, setColumns } from '#tests/helpers/token_forgery'

/**
 * `TokenModule.consume`: single-use tokens used up atomically.
 */
test.group('Tokens | single use', () => {
  /*
  |--------------------------------------------------------------------------
  | consume
  |--------------------------------------------------------------------------
  */

  test('consume returns the token once and deletes it', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const { value, id } = await issue(user, 'password_reset')

    const first = await db.transaction((trx) => tokens.consume(trx, value, 'password_reset'))
    assert.isNotNull(first)
    assert.equal(first!.identifier, id)
    assert.equal(first!.tokenableId, user.id)
    assert.isNull(await tokenRow(id))

    const second = await db.transaction((trx) => tokens.consume(trx, value, 'password_reset'))
    assert.isNull(second)
  })

  test('consume leaves the token usable when the transaction rolls back', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const { value, id } = await issue(user, 'email_verification')

    await assert.rejects(
      () =>
        db.transaction(async (trx) => {
          const token = await tokens.consume(trx, value, 'email_verification')
          assert.isNotNull(token)
          throw new Error('the follow-up write failed')
        }),
      'the follow-up write failed'
    )
    assert.isNotNull(await tokenRow(id))

    const retried = await db.transaction((trx) => tokens.consume(trx, value, 'email_verification'))
    assert.equal(retried?.identifier, id)
  })

  test('consume returns null for a wrong secret and keeps the row', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const { value, id } = await issue(user, 'password_reset')

    const wrong = await db.transaction((trx) =>
      tokens.consume(trx, wrongSecretFor(value), 'password_reset')
    )
    assert.isNull(wrong)
    assert.isNotNull(await tokenRow(id))

    const right = await db.transaction((trx) => tokens.consume(trx, value, 'password_reset'))
    assert.equal(right?.identifier, id)
  })

  test('consume returns null for other types, expired and garbage tokens', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const verification = await issue(user, 'email_verification')
    const access = await issue(user, 'access')
    const expired = await issue(user, 'password_reset')
    await setColumns(expired.id, { expires_at: new Date(Date.now() - 1000) })

    const results = await db.transaction(async (trx) => [
      await tokens.consume(trx, verification.value, 'password_reset'),
      await tokens.consume(trx, `prt_${verification.value.slice(4)}`, 'password_reset'),
      await tokens.consume(trx, `evt_${access.value.slice(4)}`, 'email_verification'),
      await tokens.consume(trx, expired.value, 'password_reset'),
      await tokens.consume(trx, 'prt_garbage', 'password_reset'),
      await tokens.consume(trx, ['prt_x'], 'password_reset'),
    ])

    assert.deepEqual(results, [null, null, null, null, null, null])
    assert.isNotNull(await tokenRow(verification.id))
    assert.isNotNull(await tokenRow(access.id))
  })

  test('consume lets exactly one of several concurrent uses succeed', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const { value, id } = await issue(user, 'password_reset')

    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        db.transaction(async (trx) => {
          const token = await tokens.consume(trx, value, 'password_reset')
          await sleep(20)
          return token
        })
      )
    )

    assert.lengthOf(
      results.filter((token) => token !== null),
      1
    )
    assert.isNull(await tokenRow(id))
  })
})
