import { createHash } from 'node:crypto'
import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import { createUser, tokenModule, tokenRows } from '#tests/helpers/accounts'
import { issue, tokenRow, setColumns } from '#tests/helpers/token_forgery'

/**
 * `TokenModule.list`, `revoke`, `revokeAll` and `prune`.
 */
test.group('Tokens | listing and revocation', () => {
  /*
  |--------------------------------------------------------------------------
  | list, revoke, revokeAll
  |--------------------------------------------------------------------------
  */

  test('list returns the tokens of one type, newest first', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const other = await createUser()
    const issued = [
      await issue(user, 'access', 'one'),
      await issue(user, 'access', 'two'),
      await issue(user, 'access', 'three'),
    ]
    await issue(user, 'email_verification')
    await issue(other, 'access')

    const listed = await tokens.list(user, 'access')

    assert.deepEqual(
      listed.map((token) => token.identifier),
      issued.map(({ id }) => id).reverse()
    )
    assert.deepEqual(
      listed.map((token) => token.name),
      ['three', 'two', 'one']
    )
    assert.isTrue(listed.every((token) => token.type === 'access' && token.value === undefined))

    const verifications = await tokens.list(user, 'email_verification')
    assert.lengthOf(verifications, 1)
    assert.equal(verifications[0].type, 'email_verification')
    assert.deepEqual(await tokens.list(user, 'password_reset'), [])
  })

  test('list orders tokens created in the same instant by id', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const issued = [await issue(user, 'access'), await issue(user, 'access')]
    const instant = new Date()
    for (const { id } of issued) await setColumns(id, { created_at: instant })

    const listed = await tokens.list(user, 'access')

    assert.deepEqual(
      listed.map((token) => token.identifier),
      [issued[1].id, issued[0].id]
    )
  })

  test('revoke deletes one of the user’s own tokens', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const kept = await issue(user, 'access')
    const revoked = await issue(user, 'access')

    assert.isTrue(await tokens.revoke(user, revoked.id))
    assert.isNull(await tokenRow(revoked.id))
    assert.isNull(await tokens.verify(revoked.value, 'access'))
    assert.isNotNull(await tokens.verify(kept.value, 'access'))
    assert.isFalse(await tokens.revoke(user, revoked.id))
    assert.isTrue(await tokens.revoke(user.id, Number(kept.id)))
  })

  test('revoke refuses another user’s token', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const other = await createUser()
    const theirs = await issue(other, 'access')

    assert.isFalse(await tokens.revoke(user, theirs.id))
    assert.isNotNull(await tokenRow(theirs.id))
    assert.isNotNull(await tokens.verify(theirs.value, 'access'))
  })

  test('revoke refuses a token of another type', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const verification = await issue(user, 'email_verification')
    const reset = await issue(user, 'password_reset')

    assert.isFalse(await tokens.revoke(user, verification.id, 'access'))
    assert.isFalse(await tokens.revoke(user, reset.id))
    assert.isNotNull(await tokenRow(verification.id))
    assert.isNotNull(await tokenRow(reset.id))
    assert.isTrue(await tokens.revoke(user, reset.id, 'password_reset'))
  })

  test('revoke returns false for ids that are not token ids', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const { id } = await issue(user, 'access')

    for (const garbage of [
      'abc',
      '',
      '0',
      '-1',
      '1.5',
      `${id} or 1=1`,
      `${id}abc`,
      '9223372036854775808',
      '99999999999999999999',
      0,
      -1,
      1.5,
      Number.NaN,
    ]) {
      assert.isFalse(await tokens.revoke(user, garbage), `id ${garbage}`)
    }
    assert.isFalse(await tokens.revoke(user, '9223372036854775807'))
    assert.isNotNull(await tokenRow(id))
  })

  test('revokeAll deletes every token of one type the user holds', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const other = await createUser()
    await issue(user, 'access')
    await issue(user, 'access')
    const verification = await issue(user, 'email_verification')
    const reset = await issue(user, 'password_reset')
    const theirs = await issue(other, 'access')

    await tokens.revokeAll(user, 'access')

    assert.lengthOf(await tokenRows(user.id, 'access'), 0)
    assert.isNotNull(await tokenRow(verification.id))
    assert.isNotNull(await tokenRow(reset.id))
    assert.isNotNull(await tokenRow(theirs.id))

    await tokens.revokeAll(user.id, 'password_reset')
    assert.isNull(await tokenRow(reset.id))
    assert.isNotNull(await tokenRow(verification.id))
  })

  test('revokeAll keeps the token named in except', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const other = await createUser()
    const current = await issue(user, 'access')
    await issue(user, 'access')
    await issue(user, 'access')
    const verification = await issue(user, 'email_verification')
    const theirs = await issue(other, 'access')

    await tokens.revokeAll(user, 'access', { except: current.id })

    const rows = await tokenRows(user.id, 'access')
    assert.deepEqual(
      rows.map((row) => String(row.id)),
      [current.id]
    )
    assert.isNotNull(await tokenRow(verification.id))
    assert.isNotNull(await tokenRow(theirs.id))

    await tokens.revokeAll(user, 'access', { except: Number(current.id) })
    assert.lengthOf(await tokenRows(user.id, 'access'), 1)
  })

  test('revokeAll is part of the transaction it is given', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    await issue(user, 'access')
    await issue(user, 'access')

    await assert.rejects(() =>
      db.transaction(async (trx) => {
        await tokens.revokeAll(user, 'access', { trx })
        throw new Error('rolled back')
      })
    )

    assert.lengthOf(await tokenRows(user.id, 'access'), 2)
  })

  /*
  |--------------------------------------------------------------------------
  | prune
  |--------------------------------------------------------------------------
  */

  test('prune deletes expired tokens only, in several batches', async ({ assert }) => {
    const tokens = await tokenModule()
    await tokens.prune()
    const user = await createUser()
    const past = new Date(Date.now() - 60_000)
    const future = new Date(Date.now() + 3_600_000)
    const row = (expiresAt: Date | null, index: number) => ({
      tokenable_id: user.id,
      type: 'access',
      name: `prune-${index}`,
      hash: createHash('sha256').update(`prune-${user.id}-${index}`).digest('hex'),
      abilities: '["*"]',
      created_at: new Date(),
      updated_at: new Date(),
      expires_at: expiresAt,
    })
    await db
      .table('tokens')
      .multiInsert([
        ...Array.from({ length: 7 }, (_, index) => row(past, index)),
        row(future, 7),
        row(null, 8),
      ])

    const pruned = await tokens.prune(3)

    assert.equal(pruned, 7)
    const left = await tokenRows(user.id, 'access')
    assert.sameMembers(
      left.map((token) => token.name),
      ['prune-7', 'prune-8']
    )
  })

  test('prune keeps going when the backlog is a multiple of the batch size', async ({ assert }) => {
    const tokens = await tokenModule()
    await tokens.prune()
    const user = await createUser()
    const expiring = []
    for (let index = 0; index < 2; index++) {
      expiring.push(await issue(user, 'access'))
      expiring.push(await issue(await createUser(), 'email_verification'))
      expiring.push(await issue(await createUser(), 'password_reset'))
    }
    const live = await issue(user, 'access')
    for (const { id } of expiring) await setColumns(id, { expires_at: new Date(Date.now() - 1000) })

    assert.equal(await tokens.prune(2), 6)
    for (const { id } of expiring) assert.isNull(await tokenRow(id))
    assert.isNotNull(await tokenRow(live.id))
    assert.equal(await tokens.prune(2), 0)
  })
})
