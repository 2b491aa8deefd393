import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import settings from '#config/setting'
import TokenModule, { TOKEN_PREFIXES } from '#modules/token_module'
import { createUser, tokenModule, tokenRows, withSettings } from '#tests/helpers/accounts'
import {
  SEED_LENGTH,
  unpack,
  issue,
  tokenRow,
  moduleWith,
  secondsFromNow,
} from '#tests/helpers/token_forgery'

/**
 * `TokenModule.create`: values, hashes, lifetimes, superseding and the session cap.
 */
test.group('Tokens | creation', () => {
  /*
  |--------------------------------------------------------------------------
  | create
  |--------------------------------------------------------------------------
  */

  test('create returns a value with the prefix of its type', async ({ assert }) => {
    const user = await createUser()

    for (const type of ['access', 'email_verification', 'password_reset'] as const) {
      const { value, id, token } = await issue(user, type)
      assert.isTrue(value.startsWith(TOKEN_PREFIXES[type]), `${type}: ${value.slice(0, 4)}`)
      assert.equal(token.type, type)
      assert.equal(TokenModule.parse(value, type)?.id, id)
    }
    assert.deepEqual(TOKEN_PREFIXES, {
      access: 'oat_',
      email_verification: 'evt_',
      password_reset: 'prt_',
    })
  })

  test('create stores only the sha256 hex hash of the secret', async ({ assert }) => {
    const user = await createUser()

    for (const type of ['access', 'email_verification', 'password_reset'] as const) {
      const { value, id } = await issue(user, type, 'Pixel')
      const { secret } = unpack(value)
      const row = await tokenRow(id)

      assert.match(row.hash, /^[0-9a-f]{64}$/)
      assert.equal(row.hash, createHash('sha256').update(secret).digest('hex'))
      assert.equal(row.type, type)
      assert.equal(row.tokenable_id, user.id)
      assert.equal(row.name, 'Pixel')

      const stored = JSON.stringify(row)
      assert.notInclude(stored, value)
      assert.notInclude(stored, secret)
      assert.notInclude(stored, secret.slice(0, SEED_LENGTH))
      assert.notInclude(stored, value.split('.')[1])
    }
  })

  test('create sets expires_at from the lifetime settings of each type', async ({ assert }) => {
    const user = await createUser()
    const lifetimes = {
      access: settings.tokens.accessTtl!,
      email_verification: settings.tokens.verificationTtl,
      password_reset: settings.tokens.resetTtl,
    }

    for (const type of ['access', 'email_verification', 'password_reset'] as const) {
      const { id, token } = await issue(user, type)
      const row = await tokenRow(id)
      assert.closeTo(secondsFromNow(row.expires_at), lifetimes[type], 5, type)
      assert.equal(token.expiresAt?.getTime(), new Date(row.expires_at).getTime())
    }
  })

  test('create takes lifetimes from the settings the module is given', async ({ assert }) => {
    const tokens = moduleWith({ accessTtl: 3600, verificationTtl: 600, resetTtl: 120 })
    const user = await createUser()
    const lifetimes = { access: 3600, email_verification: 600, password_reset: 120 }

    for (const type of ['access', 'email_verification', 'password_reset'] as const) {
      const token = await tokens.create(user, type)
      const row = await tokenRow(String(token.identifier))
      assert.closeTo(secondsFromNow(row.expires_at), lifetimes[type], 5, type)
    }
  })

  test('create issues access tokens without expiry when the lifetime is off', async ({
    assert,
  }) => {
    const tokens = moduleWith({ accessTtl: null })
    const user = await createUser()

    const token = await tokens.create(user, 'access')

    const row = await tokenRow(String(token.identifier))
    assert.isNull(row.expires_at)
    assert.isNull(token.expiresAt)
    assert.isNotNull(await tokens.verify(token.value!.release(), 'access'))
  })

  test('create supersedes older verification and reset tokens but no other type', async ({
    assert,
  }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const other = await createUser()
    const access = await issue(user, 'access')
    const firstVerification = await issue(user, 'email_verification')
    const firstReset = await issue(user, 'password_reset')
    const othersVerification = await issue(other, 'email_verification')

    const secondVerification = await issue(user, 'email_verification')

    const verificationRows = await tokenRows(user.id, 'email_verification')
    assert.deepEqual(
      verificationRows.map((row) => String(row.id)),
      [secondVerification.id]
    )
    assert.isNull(await tokens.verify(firstVerification.value, 'email_verification'))
    assert.isNotNull(await tokens.verify(secondVerification.value, 'email_verification'))
    assert.isNotNull(await tokens.verify(firstReset.value, 'password_reset'))
    assert.isNotNull(await tokens.verify(access.value, 'access'))
    assert.isNotNull(await tokens.verify(othersVerification.value, 'email_verification'))

    const secondReset = await issue(user, 'password_reset')

    const resetRows = await tokenRows(user.id, 'password_reset')
    assert.deepEqual(
      resetRows.map((row) => String(row.id)),
      [secondReset.id]
    )
    assert.isNotNull(await tokens.verify(secondVerification.value, 'email_verification'))
    assert.lengthOf(await tokenRows(user.id, 'access'), 1)
  })

  test('create evicts the oldest access tokens beyond the session limit', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const limit = tokens.sessionLimitFor(user)
    assert.equal(limit, settings.sessions.limit)
    const reset = await issue(user, 'password_reset')

    const issued = []
    for (let index = 0; index < limit + 2; index++) {
      issued.push(await issue(user, 'access'))
    }

    const rows = await tokenRows(user.id, 'access')
    assert.deepEqual(
      rows.map((row) => String(row.id)),
      issued.slice(2).map(({ id }) => id)
    )
    assert.isNull(await tokens.verify(issued[0].value, 'access'))
    assert.isNull(await tokens.verify(issued[1].value, 'access'))
    assert.isNotNull(await tokens.verify(issued.at(-1)!.value, 'access'))
    assert.lengthOf(await tokenRows(user.id, 'password_reset'), 1)
    assert.isNotNull(await tokens.verify(reset.value, 'password_reset'))
  })

  test('create keeps the session limit when sign-ins race', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()
    const limit = tokens.sessionLimitFor(user)

    const issued = await Promise.all(
      Array.from({ length: limit * 3 }, () => tokens.create(user, 'access'))
    )

    assert.lengthOf(issued, limit * 3)
    const rows = await tokenRows(user.id, 'access')
    assert.lengthOf(rows, limit)
  })

  test('create takes the per-user lock, so racing sign-ins evict one at a time', async ({
    assert,
  }) => {
    const tokens = await tokenModule()
    const user = await createUser()

    /**
     * Hold a lock on the user's row from another connection: create must
     * wait for it rather than insert and evict concurrently. (FOR NO KEY
     * UPDATE, so the token's foreign-key check alone would not wait.)
     */
    const holder = await db.transaction()
    try {
      await holder.rawQuery('select id from users where id = ? for no key update', [user.id])
      let finished = false
      const pending = tokens.create(user, 'access').then((token) => {
        finished = true
        return token
      })
      await sleep(300)
      assert.isFalse(finished, 'create went ahead while another transaction held the user lock')
      await holder.commit()
      const token = await pending
      assert.isTrue(finished)
      assert.isNotNull(await tokens.verify(token.value!.release(), 'access'))
    } finally {
      if (!holder.isCompleted) await holder.rollback()
    }
  })

  test('create applies a per-role session limit override', async ({ assert }) => {
    const tokens = await tokenModule()
    const admin = await createUser({ roles: ['user', 'admin'] })
    const plain = await createUser({ roles: ['user'] })
    const savedOverrides = { ...settings.sessions.limitByRole }

    try {
      await withSettings(
        (current) => (current.sessions.limitByRole = { admin: 7 }),
        async () => {
          assert.equal(tokens.sessionLimitFor(admin), 7)
          assert.equal(tokens.sessionLimitFor(plain), settings.sessions.limit)

          const issued = []
          for (let index = 0; index < 9; index++) {
            issued.push(await issue(admin, 'access'))
          }
          for (let index = 0; index < settings.sessions.limit + 1; index++) {
            await issue(plain, 'access')
          }

          const rows = await tokenRows(admin.id, 'access')
          assert.deepEqual(
            rows.map((row) => String(row.id)),
            issued.slice(2).map(({ id }) => id)
          )
          assert.lengthOf(await tokenRows(plain.id, 'access'), settings.sessions.limit)
        }
      )
    } finally {
      /**
       * withSettings restores values key by key and keeps keys the change
       * added (here `admin`), so the override is removed by hand.
       */
      settings.sessions.limitByRole = savedOverrides
    }
  })
})
