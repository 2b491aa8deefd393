import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { crc32 } from 'node:zlib'
import { test } from '@japa/runner'
import { AccessToken } from '@adonisjs/auth/access_tokens'
import { base64 } from '@adonisjs/core/helpers'
import string from '@adonisjs/core/helpers/string'
import logger from '@adonisjs/core/services/logger'
import db from '@adonisjs/lucid/services/db'
import settings, { type Settings } from '#config/setting'
import User from '#models/user'
import TokenModule, { TOKEN_PREFIXES, type TokenType } from '#modules/token_module'
import { createUser, tokenModule, tokenRows, withSettings } from '#tests/helpers/accounts'

const SEED_LENGTH = 40

/**
 * A token string in the stock format, `<prefix><base64url(id)>.<base64url(secret)>`,
 * so tests can forge ids, secrets and checksums.
 */
function forge(prefix: string, id: string, secret: string) {
  return `${prefix}${base64.urlEncode(id)}.${base64.urlEncode(secret)}`
}

/**
 * A seed followed by its CRC32, the way the auth package builds secrets.
 */
function withChecksum(seed: string) {
  return `${seed}${crc32(seed)}`
}

/**
 * The id and secret inside a token string.
 */
function unpack(value: string) {
  const [encodedId, encodedSecret] = value.slice(4).split('.')
  return {
    prefix: value.slice(0, 4),
    id: base64.urlDecode(encodedId)!,
    secret: base64.urlDecode(encodedSecret)!,
  }
}

/**
 * A second secret for an existing id: well formed, valid checksum, wrong.
 */
function wrongSecretFor(value: string) {
  const { prefix, id } = unpack(value)
  return forge(prefix, id, withChecksum(string.random(SEED_LENGTH)))
}

async function issue(user: User, type: TokenType, name?: string) {
  const tokens = await tokenModule()
  const token = await tokens.create(user, type, { name })
  return { token, value: token.value!.release(), id: String(token.identifier) }
}

async function tokenRow(id: string | number) {
  return db.from('tokens').where('id', String(id)).first()
}

async function setColumns(id: string | number, columns: Record<string, unknown>) {
  await db.from('tokens').where('id', String(id)).update(columns)
}

/**
 * Waits for `read` to satisfy `done` (asynchronous writes), or gives up.
 */
async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs
  let value = await read()
  while (!done(value) && Date.now() < deadline) {
    await sleep(25)
    value = await read()
  }
  return value
}

/**
 * Counts the statements sent to PostgreSQL while `work` runs.
 */
async function countQueries(work: () => Promise<unknown>) {
  const knex = db.connection().getWriteClient()
  let count = 0
  const listener = () => count++
  knex.on('query', listener)
  try {
    await work()
  } finally {
    knex.removeListener('query', listener)
  }
  return count
}

/**
 * A TokenModule of its own over the same database, for settings that the
 * container's singleton reads once at construction (token lifetimes).
 */
function moduleWith(tokenSettings: Partial<Settings['tokens']>) {
  return new TokenModule(
    db,
    { ...settings, tokens: { ...settings.tokens, ...tokenSettings } },
    logger
  )
}

function secondsFromNow(date: Date | string | null) {
  return (new Date(date!).getTime() - Date.now()) / 1000
}

test.group('Tokens | token module', () => {
  /*
  |--------------------------------------------------------------------------
  | parse
  |--------------------------------------------------------------------------
  */

  test('parse accepts a well-formed token and returns its id and secret', async ({ assert }) => {
    const user = await createUser()
    const { value, id } = await issue(user, 'access')

    const parsed = TokenModule.parse(value, 'access')

    assert.isNotNull(parsed)
    assert.equal(parsed!.id, id)
    assert.equal(parsed!.secret.release(), unpack(value).secret)
  })

  test('parse rejects a token with an unknown prefix', async ({ assert }) => {
    const user = await createUser()
    const { value } = await issue(user, 'access')

    assert.isNull(TokenModule.parse(`xyz_${value.slice(4)}`, 'access'))
    assert.isNull(TokenModule.parse(value.slice(4), 'access'))
    assert.isNull(TokenModule.parse(`OAT_${value.slice(4)}`, 'access'))
  })

  test('parse rejects a token that carries the prefix of another type', async ({ assert }) => {
    const user = await createUser()
    const { value: access } = await issue(user, 'access')
    const { value: verification } = await issue(user, 'email_verification')
    const { value: reset } = await issue(user, 'password_reset')

    assert.isNull(TokenModule.parse(access, 'email_verification'))
    assert.isNull(TokenModule.parse(access, 'password_reset'))
    assert.isNull(TokenModule.parse(verification, 'access'))
    assert.isNull(TokenModule.parse(verification, 'password_reset'))
    assert.isNull(TokenModule.parse(reset, 'access'))
    assert.isNull(TokenModule.parse(reset, 'email_verification'))
  })

  test('parse rejects an id or secret that is not base64url', ({ assert }) => {
    const secret = base64.urlEncode(withChecksum(string.random(SEED_LENGTH)))

    assert.isNull(TokenModule.parse(`oat_!!!.${secret}`, 'access'))
    assert.isNull(TokenModule.parse(`oat_MQ==.${secret}`, 'access'))
    assert.isNull(TokenModule.parse(`oat_MQ.${secret}*`, 'access'))
    assert.isNull(TokenModule.parse(`oat_MQ.${secret}=`, 'access'))
    // "MR" and "MQ" both decode to "1"; only "MQ" is canonical (no stray bits).
    assert.isNull(TokenModule.parse(`oat_MR.${secret}`, 'access'))
    // A length no encoding has, and bytes that are not ASCII (never issued).
    assert.isNull(TokenModule.parse(`oat_MTIzNDU2N.${secret}`, 'access'))
    const latin1 = Buffer.from(withChecksum(`${string.random(SEED_LENGTH - 1)}\u00e9`), 'latin1')
    assert.isNull(TokenModule.parse(`oat_MQ.${latin1.toString('base64url')}`, 'access'))
    assert.isNotNull(TokenModule.parse(`oat_MQ.${secret}`, 'access'))
  })

  test('parse rejects a token without the dot between id and secret', ({ assert }) => {
    const secret = base64.urlEncode(withChecksum(string.random(SEED_LENGTH)))

    assert.isNull(TokenModule.parse(`oat_MQ${secret}`, 'access'))
    assert.isNull(TokenModule.parse(`oat_.${secret}`, 'access'))
    assert.isNull(TokenModule.parse('oat_MQ.', 'access'))
    assert.isNull(TokenModule.parse('oat_', 'access'))
    assert.isNull(TokenModule.parse('', 'access'))
  })

  test('parse rejects ids that are not positive 64-bit integers', ({ assert }) => {
    const secret = withChecksum(string.random(SEED_LENGTH))

    for (const id of [
      'abc',
      '1a',
      '1.5',
      ' 1',
      '0',
      '00',
      '01',
      '-1',
      '+1',
      '1e3',
      '9223372036854775808',
      '9223372036854775810',
      '9300000000000000000',
      '18446744073709551616',
      '99999999999999999999',
    ]) {
      assert.isNull(TokenModule.parse(forge('oat_', id, secret), 'access'), `id ${id}`)
    }
    for (const id of ['1', '9223372036854775807', '9223372036854775799', '1999999999999999999']) {
      assert.equal(TokenModule.parse(forge('oat_', id, secret), 'access')?.id, id)
    }
  })

  test('parse rejects a secret whose crc32 checksum does not match', async ({ assert }) => {
    const user = await createUser()
    const { value } = await issue(user, 'access')
    const { prefix, id, secret } = unpack(value)
    const seed = secret.slice(0, SEED_LENGTH)
    const checksum = secret.slice(SEED_LENGTH)

    const flippedSeed = `${seed[0] === 'a' ? 'b' : 'a'}${seed.slice(1)}${checksum}`
    assert.isNull(TokenModule.parse(forge(prefix, id, flippedSeed), 'access'))

    const lastDigit = checksum.at(-1) === '0' ? '1' : '0'
    const flippedChecksum = `${seed}${checksum.slice(0, -1)}${lastDigit}`
    assert.isNull(TokenModule.parse(forge(prefix, id, flippedChecksum), 'access'))

    assert.isNull(TokenModule.parse(forge(prefix, id, seed), 'access'))
    assert.isNull(TokenModule.parse(forge(prefix, id, `${seed}${checksum}0`), 'access'))

    assert.isNull(
      TokenModule.parse(forge(prefix, id, `${seed.slice(1)}${crc32(seed.slice(1))}`), 'access')
    )
    assert.isNotNull(TokenModule.parse(forge(prefix, id, secret), 'access'))
  })

  test('parse accepts a checksum only as String(crc32) writes it', ({ assert }) => {
    /**
     * Seeds whose checksum can be misspelt within 10 characters: one of at
     * most 9 digits (a leading zero fits), one ending in "10" (which ":",
     * the character after "9", would spell "0:" if read as a digit).
     */
    const seedWhere = (accept: (crc: number) => boolean) => {
      while (true) {
        const seed = string.random(SEED_LENGTH)
        if (accept(crc32(seed))) return seed
      }
    }
    const short = seedWhere((crc) => crc < 1e9)
    const endsIn10 = seedWhere((crc) => crc % 100 === 10 && crc >= 100)
    const spellings = [
      `${short}0${crc32(short)}`,
      `${short}+${crc32(short)}`,
      `${short} ${crc32(short)}`,
      `${short}${crc32(short)}.0`,
      `${endsIn10}${String(crc32(endsIn10)).slice(0, -2)}0:`,
    ]
    for (const secret of spellings) {
      assert.isNull(TokenModule.parse(forge('oat_', '1', secret), 'access'), secret)
    }
    for (const seed of [short, endsIn10]) {
      assert.isNotNull(TokenModule.parse(forge('oat_', '1', withChecksum(seed)), 'access'))
    }
  })

  test('parse rejects over-long strings', ({ assert }) => {
    const secret = base64.urlEncode(withChecksum(string.random(SEED_LENGTH)))
    const padded = `oat_${'A'.repeat(300)}.${secret}`

    assert.isNull(TokenModule.parse(padded, 'access'))
    assert.isNull(TokenModule.parse(`oat_MQ.${secret}${'A'.repeat(256)}`, 'access'))
    assert.isNull(TokenModule.parse('oat_'.padEnd(100_000, 'A'), 'access'))
  })

  test('parse rejects values that are not strings', async ({ assert }) => {
    const user = await createUser()
    const { value } = await issue(user, 'access')

    for (const input of [
      undefined,
      null,
      42,
      42n,
      true,
      {},
      { value },
      [value],
      Buffer.from(value),
      Object(value),
    ]) {
      assert.isNull(TokenModule.parse(input, 'access'))
    }
  })

  test('parse agrees with the checksum of the stock access-token provider', async ({ assert }) => {
    const tokens = await tokenModule()
    const user = await createUser()

    const stock = await tokens.providers.access.create(user)
    const value = stock.value!.release()
    assert.isTrue(value.startsWith('oat_'))
    assert.equal(TokenModule.parse(value, 'access')?.id, String(stock.identifier))

    const verified = await tokens.verify(value, 'access')
    assert.equal(verified?.identifier, String(stock.identifier))

    for (let index = 0; index < 200; index++) {
      const secret = AccessToken.seed(SEED_LENGTH).secret.release()
      const seed = secret.slice(0, SEED_LENGTH)
      assert.equal(String(crc32(seed)), secret.slice(SEED_LENGTH))
    }
  })

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
