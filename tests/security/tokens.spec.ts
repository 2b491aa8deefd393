import crypto, { createHash, randomBytes } from 'node:crypto'
import { syncBuiltinESMExports } from 'node:module'
import { crc32 } from 'node:zlib'
import pg from 'pg'
import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import type { ApiClient, ApiResponse } from '@japa/api-client'
import type { Assert } from '@japa/assert'
import { mailbox } from '#tests/helpers/mailbox'
import {
  forgotForToken,
  resetTokenFor,
  signUpForToken,
  verificationTokenFor,
  waitForCount,
} from '#tests/helpers/mail'
import {
  PASSWORD,
  createUser,
  resetRateLimits,
  signIn,
  signedInUser,
  tokenModule,
  tokenRows,
  uniqueEmail,
  withSettings,
} from '#tests/helpers/accounts'
import { assertInvalidToken } from '#tests/helpers/assertions'

/**
 * SECURITY.md T1–T8: how tokens are typed, stored, checked, used up,
 * superseded, capped and revoked — proved over HTTP against PostgreSQL.
 */

const API = '/api/v1'

/**
 * A token string split into its parts: `<prefix><base64url(id)>.<base64url(secret)>`,
 * where the secret is a 40-character seed followed by its CRC32.
 */
function partsOf(token: string) {
  const match = token.match(/^([a-z]+_)([^.]+)\.(.+)$/)
  if (!match) throw new Error(`Not a token: ${token}`)
  const [, prefix, encodedId, encodedSecret] = match
  return {
    prefix,
    id: Buffer.from(encodedId, 'base64url').toString(),
    encodedSecret,
    secret: Buffer.from(encodedSecret, 'base64url').toString(),
  }
}

/**
 * Builds a token string by hand. With the default checksum it passes every
 * offline check (prefix, encoding, id, CRC32), so only the database can
 * tell it is wrong.
 */
function forgeToken(prefix: string, id: string, seed: string, checksum = String(crc32(seed))) {
  return `${prefix}${Buffer.from(id).toString('base64url')}.${Buffer.from(`${seed}${checksum}`).toString('base64url')}`
}

function randomSeed() {
  return randomBytes(30).toString('base64url').slice(0, 40)
}

function withPrefix(token: string, prefix: string) {
  return token.replace(/^[a-z]+_/, prefix)
}

function sha256(value: string) {
  return createHash('sha256').update(value).digest('hex')
}

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Counts every statement this process sends to PostgreSQL. Lucid only emits
 * `db:query` events in debug mode and pg_stat_* views are flushed lazily, so
 * the count is taken at the lowest level instead: `pg.Client#query`, which
 * knex calls for every statement on every pooled connection (there is one
 * copy of `pg` in node_modules). Whatever reached the database passed here.
 */
async function countQueries(work: () => Promise<void>) {
  const original = pg.Client.prototype.query
  const statements: string[] = []
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const config = args[0] as string | { text?: string }
    statements.push(typeof config === 'string' ? config : String(config?.text))
    return (original as (...a: unknown[]) => unknown).apply(this, args)
  } as typeof original
  try {
    await work()
  } finally {
    pg.Client.prototype.query = original
  }
  return statements
}

function verifyWith(client: ApiClient, token: string) {
  return client.post(`${API}/auth/email/verify`).json({ token })
}

function resetWith(client: ApiClient, token: string, password: string) {
  return client.post(`${API}/auth/password/reset`).json({ token, password })
}

/**
 * Of concurrent attempts with one token, exactly one answered 200 and every
 * other one 400. Returns the statuses, in request order.
 */
function assertOneSucceeded(assert: Assert, responses: ApiResponse[]) {
  const statuses = responses.map((response) => response.status())
  assert.lengthOf(
    statuses.filter((status) => status === 200),
    1,
    `statuses: ${statuses.join(',')}`
  )
  assert.lengthOf(
    statuses.filter((status) => status === 400),
    responses.length - 1,
    `statuses: ${statuses.join(',')}`
  )
  return statuses
}

async function passwordHashOf(email: string) {
  const row = await db.from('users').where({ email }).select('password').firstOrFail()
  return row.password as string
}

async function tokenRow(id: string | number) {
  return db.from('tokens').where({ id }).first()
}

test.group('Security | tokens', (group) => {
  group.each.setup(() => resetRateLimits())

  /**
   * T1 Type isolation
   */
  test('T1: verification and reset tokens presented as Bearer tokens get 401', async ({
    client,
  }) => {
    const email = uniqueEmail('t1-bearer')
    const verificationToken = await signUpForToken(client, email)
    const resetToken = await forgotForToken(client, email)

    for (const token of [verificationToken, resetToken]) {
      const response = await client.get(`${API}/me`).bearerToken(token)
      response.assertStatus(401)
      response.assertBodyContains({ errors: [{ code: 'E_UNAUTHORIZED_ACCESS' }] })
    }

    // Nothing changed: both tokens still do their own job.
    const verified = await verifyWith(client, verificationToken)
    verified.assertStatus(200)
    const reset = await resetWith(client, resetToken, 'a brand new passphrase')
    reset.assertStatus(200)
  })

  test('T1: access and verification tokens posted to reset get E_INVALID_TOKEN and change nothing', async ({
    client,
    assert,
  }) => {
    const { user, token: accessToken } = await signedInUser(client)
    const hashBefore = await passwordHashOf(user.email)

    const pendingEmail = uniqueEmail('t1-reset')
    const verificationToken = await signUpForToken(client, pendingEmail)
    const pendingHashBefore = await passwordHashOf(pendingEmail)

    for (const token of [accessToken, verificationToken]) {
      const response = await resetWith(client, token, 'an attacker chosen passphrase')
      assertInvalidToken(response)
    }

    assert.equal(await passwordHashOf(user.email), hashBefore)
    assert.equal(await passwordHashOf(pendingEmail), pendingHashBefore)
    const stillSignedIn = await client.get(`${API}/me`).bearerToken(accessToken)
    stillSignedIn.assertStatus(200)
    const stillPending = await db.from('users').where({ email: pendingEmail }).firstOrFail()
    assert.isNull(stillPending.email_verified_at)
    await signIn(client, user.email)
    const verified = await verifyWith(client, verificationToken)
    verified.assertStatus(200)
  })

  test('T1: access and reset tokens posted to email verification get E_INVALID_TOKEN', async ({
    client,
    assert,
  }) => {
    const { token: accessToken } = await signedInUser(client)
    const email = uniqueEmail('t1-verify')
    await signUpForToken(client, email)
    const resetToken = await forgotForToken(client, email)

    for (const token of [accessToken, resetToken]) {
      const response = await verifyWith(client, token)
      assertInvalidToken(response)
    }
    const user = await db.from('users').where({ email }).firstOrFail()
    assert.isNull(user.email_verified_at)
  })

  test('T1: changing only the prefix of a token makes it invalid', async ({ client, assert }) => {
    const email = uniqueEmail('t1-prefix')
    const verificationToken = await signUpForToken(client, email)
    const resetToken = await forgotForToken(client, email)
    const { token: accessToken } = await signedInUser(client)

    const asReset = await resetWith(
      client,
      withPrefix(verificationToken, 'prt_'),
      'a brand new passphrase'
    )
    assertInvalidToken(asReset)

    const accessAsVerification = await verifyWith(client, withPrefix(accessToken, 'evt_'))
    assertInvalidToken(accessAsVerification)

    const resetAsVerification = await verifyWith(client, withPrefix(resetToken, 'evt_'))
    resetAsVerification.assertStatus(400)

    for (const token of [withPrefix(verificationToken, 'oat_'), withPrefix(resetToken, 'oat_')]) {
      const response = await client.get(`${API}/me`).bearerToken(token)
      response.assertStatus(401)
    }

    // The prefix itself is checked, not only the stored type: a token relabelled
    // with another prefix is refused even where its own type is expected.
    for (const token of [withPrefix(accessToken, 'evt_'), withPrefix(accessToken, 'prt_')]) {
      const response = await client.get(`${API}/me`).bearerToken(token)
      response.assertStatus(401)
    }
    const resetRelabelled = await resetWith(
      client,
      withPrefix(resetToken, 'evt_'),
      'a brand new passphrase'
    )
    assertInvalidToken(resetRelabelled)
    const verificationRelabelled = await verifyWith(client, withPrefix(verificationToken, 'prt_'))
    assertInvalidToken(verificationRelabelled)

    const user = await db.from('users').where({ email }).firstOrFail()
    assert.isNull(user.email_verified_at)
    // The originals, with their own prefixes, still work.
    const verified = await verifyWith(client, verificationToken)
    verified.assertStatus(200)
  })

  /**
   * T2 Hashed at rest
   */
  test('T2: no issued token or password is stored in plaintext and hashes are sha256 of the secret', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('t2')
    const password = 'plaintext canary passphrase 7f3a'
    const newPassword = 'second canary passphrase 91bc'

    /**
     * Every value of every row of every table of the app's schema (users,
     * tokens, rate_limits, …) as one string.
     */
    async function everythingStored() {
      const tables = await db
        .from('information_schema.tables')
        .where({ table_schema: 'public', table_type: 'BASE TABLE' })
        .select('table_name')
      const names = tables.map((row) => row.table_name as string)
      assert.includeMembers(names, ['users', 'tokens'])
      let text = ''
      for (const name of names) {
        const rows = await db.from(name).select('*')
        text += JSON.stringify(rows)
      }
      return text
    }

    async function assertHashed(token: string) {
      const { id, encodedSecret, secret } = partsOf(token)
      const row = await tokenRow(id)
      assert.exists(row, `token ${id} should be stored`)
      // The stored hash is SHA-256 (hex) of the secret: the decoded part after the dot.
      assert.equal(row.hash, sha256(secret))
      assert.notEqual(row.hash, encodedSecret)
    }

    function assertAbsent(stored: string, secrets: string[]) {
      for (const secret of secrets) {
        assert.notInclude(stored, secret, 'a secret was found in the database')
      }
    }

    const secretsOf = (token: string) => {
      const { encodedSecret, secret } = partsOf(token)
      return [token, encodedSecret, secret, secret.slice(0, 40)]
    }

    const verificationToken = await signUpForToken(client, email, password)
    await assertHashed(verificationToken)
    assertAbsent(await everythingStored(), [password, ...secretsOf(verificationToken)])

    const verified = await verifyWith(client, verificationToken)
    verified.assertStatus(200)
    const accessToken = await signIn(client, email, password)
    const resetToken = await forgotForToken(client, email)
    await assertHashed(accessToken)
    await assertHashed(resetToken)
    assertAbsent(await everythingStored(), [
      password,
      ...secretsOf(verificationToken),
      ...secretsOf(accessToken),
      ...secretsOf(resetToken),
    ])

    const reset = await resetWith(client, resetToken, newPassword)
    reset.assertStatus(200)
    const secondAccessToken = await signIn(client, email, newPassword)
    await assertHashed(secondAccessToken)
    assertAbsent(await everythingStored(), [
      password,
      newPassword,
      ...secretsOf(resetToken),
      ...secretsOf(accessToken),
      ...secretsOf(secondAccessToken),
    ])
  })

  test('T2: presented secrets are compared with the stored hash in constant time', async ({
    client,
    assert,
  }) => {
    const { token } = await signedInUser(client)
    const { id } = partsOf(token)
    const { hash: stored } = await tokenRow(id)

    /**
     * Every constant-time comparison in this process (@adonisjs/core's
     * safeEqual ends in node:crypto's timingSafeEqual), recorded by the
     * trusted side of the comparison.
     */
    const original = crypto.timingSafeEqual
    const compared: string[] = []
    crypto.timingSafeEqual = ((a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      compared.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString())
      return original(a, b)
    }) as typeof original
    syncBuiltinESMExports()
    try {
      const wrong = await client.get(`${API}/me`).bearerToken(forgeToken('oat_', id, randomSeed()))
      wrong.assertStatus(401)
      const right = await client.get(`${API}/me`).bearerToken(token)
      right.assertStatus(200)
    } finally {
      crypto.timingSafeEqual = original
      syncBuiltinESMExports()
    }
    assert.lengthOf(
      compared.filter((value) => value === stored),
      2,
      'both the wrong and the right secret must be checked with timingSafeEqual'
    )
  })

  /**
   * T3 Cheap rejection
   */
  test('T3: malformed, bad-checksum and wrong-prefix Bearer tokens are rejected without a query', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('t3')
    const verificationToken = await signUpForToken(client, email)
    const resetToken = await forgotForToken(client, email)
    const { token: accessToken } = await signedInUser(client)
    const { id, secret } = partsOf(accessToken)
    const seed = secret.slice(0, 40)
    const checksum = secret.slice(40)
    const flipped = `${seed.slice(0, 10)}${seed[10] === 'a' ? 'b' : 'a'}${seed.slice(11)}`

    const rejected = [
      'garbage',
      'oat_',
      'oat_.',
      'oat_MQ',
      'oat_MQ.',
      `oat_!!!.${partsOf(accessToken).encodedSecret}`,
      `${accessToken}x`,
      accessToken.slice(0, -3),
      accessToken.toUpperCase(),
      `OAT_${accessToken.slice(4)}`,
      // Bad checksum: one seed character changed, or the CRC itself changed.
      forgeToken('oat_', id, flipped, checksum),
      forgeToken('oat_', id, seed, String((Number(checksum) + 1) % 2 ** 32)),
      forgeToken('oat_', id, seed, ''),
      forgeToken('oat_', id, randomSeed(), '0'),
      forgeToken('oat_', id, `${seed}x`),
      forgeToken('oat_', id, seed.slice(1)),
      // Ids that are not a positive bigint.
      forgeToken('oat_', 'abc', seed),
      forgeToken('oat_', '0', seed),
      forgeToken('oat_', '-1', seed),
      forgeToken('oat_', '1e3', seed),
      forgeToken('oat_', '99999999999999999999', seed),
      forgeToken('oat_', '9223372036854775808', seed),
      // Wrong prefix: tokens of the other types, and an access token relabelled.
      verificationToken,
      resetToken,
      withPrefix(accessToken, 'evt_'),
      withPrefix(accessToken, 'prt_'),
      `oat_${'A'.repeat(300)}.${partsOf(accessToken).encodedSecret}`,
    ]

    // Let any write still in flight from the set-up settle before counting.
    await sleep(200)
    const requests: string[] = []
    while (requests.length < 50) requests.push(rejected[requests.length % rejected.length])
    const statements = await countQueries(async () => {
      const responses = await Promise.all(
        requests.map((token) => client.get(`${API}/me`).bearerToken(token))
      )
      for (const response of responses) response.assertStatus(401)
    })
    assert.deepEqual(statements, [], 'rejected tokens must not reach the database')

    // The instrument sees queries: a valid token is looked up.
    const control = await countQueries(async () => {
      const response = await client.get(`${API}/me`).bearerToken(accessToken)
      response.assertStatus(200)
    })
    assert.isAtLeast(control.length, 1)
  })

  test('T3: malformed link tokens are rejected by the token module without a query', async ({
    client,
    assert,
  }) => {
    const tokens = await tokenModule()
    const email = uniqueEmail('t3-link')
    const verificationToken = await signUpForToken(client, email)
    const resetToken = await forgotForToken(client, email)
    const { id, secret } = partsOf(resetToken)

    await sleep(200)
    const statements = await countQueries(async () => {
      const candidates: Array<[string, 'email_verification' | 'password_reset']> = [
        [verificationToken, 'password_reset'],
        [resetToken, 'email_verification'],
        [withPrefix(resetToken, 'evt_'), 'password_reset'],
        [forgeToken('prt_', id, secret.slice(0, 40), '1'), 'password_reset'],
        [forgeToken('prt_', 'abc', secret.slice(0, 40)), 'password_reset'],
        ['prt_', 'password_reset'],
        ['not a token', 'email_verification'],
      ]
      for (const [value, type] of candidates) {
        assert.isNull(await tokens.verify(value, type))
      }
    })
    assert.deepEqual(statements, [])
  })

  /**
   * T4 A failed check writes nothing
   */
  test('T4: a wrong secret with a valid access token id leaves last_used_at and updated_at unchanged', async ({
    client,
    assert,
  }) => {
    const { token } = await signedInUser(client)
    const { id } = partsOf(token)
    const before = await tokenRow(id)
    assert.isNull(before.last_used_at)

    for (let attempt = 0; attempt < 5; attempt++) {
      const response = await client
        .get(`${API}/me`)
        .bearerToken(forgeToken('oat_', id, randomSeed()))
      response.assertStatus(401)
    }
    // Give any asynchronous write time to land.
    await sleep(200)
    const after = await tokenRow(id)
    assert.deepEqual(after, before)

    // Control: the right secret does record use, so the check above could see a write.
    const ok = await client.get(`${API}/me`).bearerToken(token)
    ok.assertStatus(200)
    let touched = await tokenRow(id)
    for (let wait = 0; wait < 40 && touched.last_used_at === null; wait++) {
      await sleep(50)
      touched = await tokenRow(id)
    }
    assert.isNotNull(touched.last_used_at, 'a successful use should record last_used_at')
  })

  test('T4: a wrong secret with a valid reset token id changes nothing and the real token still works', async ({
    client,
    assert,
  }) => {
    const { user } = await signedInUser(client)
    const resetToken = await forgotForToken(client, user.email)
    const { id } = partsOf(resetToken)
    const before = await tokenRow(id)
    const hashBefore = await passwordHashOf(user.email)

    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await resetWith(
        client,
        forgeToken('prt_', id, randomSeed()),
        'an attacker passphrase'
      )
      assertInvalidToken(response)
    }
    await sleep(200)
    assert.deepEqual(await tokenRow(id), before)
    assert.equal(await passwordHashOf(user.email), hashBefore)

    const reset = await resetWith(client, resetToken, 'the owner new passphrase')
    reset.assertStatus(200)
  })

  /**
   * T5 Single use, atomically
   */
  test('T5: exactly one of 20 concurrent resets with one token succeeds', async ({
    client,
    assert,
  }) => {
    const { user } = await signedInUser(client)
    const resetToken = await forgotForToken(client, user.email)
    const passwords = Array.from({ length: 20 }, (_, index) => `concurrent passphrase ${index}`)

    const responses = await Promise.all(
      passwords.map((password) => resetWith(client, resetToken, password))
    )
    const statuses = assertOneSucceeded(assert, responses)
    for (const response of responses.filter((r) => r.status() === 400)) {
      response.assertBodyContains({ errors: [{ code: 'E_INVALID_TOKEN' }] })
    }

    // The one that won set the password; the others changed nothing.
    const winner = passwords[statuses.indexOf(200)]
    await signIn(client, user.email, winner)

    const retry = await resetWith(client, resetToken, 'one more passphrase')
    assertInvalidToken(retry)
    assert.lengthOf(await tokenRows(user.id, 'password_reset'), 0)
  })

  test('T5: exactly one of 20 concurrent email verifications with one token succeeds', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('t5-verify')
    const verificationToken = await signUpForToken(client, email)

    const responses = await Promise.all(
      Array.from({ length: 20 }, () => verifyWith(client, verificationToken))
    )
    assertOneSucceeded(assert, responses)

    const retry = await verifyWith(client, verificationToken)
    assertInvalidToken(retry)
    const user = await db.from('users').where({ email }).firstOrFail()
    assert.isNotNull(user.email_verified_at)
    assert.lengthOf(await tokenRows(user.id, 'email_verification'), 0)
  })

  /**
   * T6 Superseded and expiring
   */
  test('T6: a second reset link kills the first while the second works', async ({ client }) => {
    const { user } = await signedInUser(client)
    const first = await forgotForToken(client, user.email)
    const again = await client.post(`${API}/auth/password/forgot`).json({ email: user.email })
    again.assertStatus(202)
    await waitForCount(user.email, /Reset your password/, 2)
    const second = await resetTokenFor(user.email)

    const withFirst = await resetWith(client, first, 'the first link passphrase')
    assertInvalidToken(withFirst)

    const withSecond = await resetWith(client, second, 'the second link passphrase')
    withSecond.assertStatus(200)
    await signIn(client, user.email, 'the second link passphrase')
  })

  test('T6: a second verification link kills the first while the second works', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('t6-verify')
    const first = await signUpForToken(client, email)
    const resend = await client.post(`${API}/auth/email/resend`).json({ email })
    resend.assertStatus(202)
    await waitForCount(email, /Confirm your email/, 2)
    const second = await verificationTokenFor(email)
    assert.notEqual(first, second)

    const withFirst = await verifyWith(client, first)
    assertInvalidToken(withFirst)

    const withSecond = await verifyWith(client, second)
    withSecond.assertStatus(200)
  })

  test('T6: an expired reset token is refused and the password stays', async ({
    client,
    assert,
  }) => {
    const { user } = await signedInUser(client)
    const resetToken = await forgotForToken(client, user.email)
    const { id } = partsOf(resetToken)
    const hashBefore = await passwordHashOf(user.email)
    const original = await tokenRow(id)

    await db
      .from('tokens')
      .where({ id })
      .update({ expires_at: new Date(Date.now() - 60_000) })
    const expired = await resetWith(client, resetToken, 'a late passphrase')
    assertInvalidToken(expired)
    assert.equal(await passwordHashOf(user.email), hashBefore)

    // Only the expiry made the difference: back within its lifetime, it works.
    await db.from('tokens').where({ id }).update({ expires_at: original.expires_at })
    const valid = await resetWith(client, resetToken, 'a timely passphrase')
    valid.assertStatus(200)
  })

  test('T6: expired verification and access tokens are refused', async ({ client }) => {
    const email = uniqueEmail('t6-expired')
    const verificationToken = await signUpForToken(client, email)
    const { token: accessToken } = await signedInUser(client)
    const past = new Date(Date.now() - 60_000)
    await db
      .from('tokens')
      .whereIn('id', [partsOf(verificationToken).id, partsOf(accessToken).id])
      .update({ expires_at: past })

    const verify = await verifyWith(client, verificationToken)
    assertInvalidToken(verify)
    const me = await client.get(`${API}/me`).bearerToken(accessToken)
    me.assertStatus(401)
  })

  test('T6: tokens are issued with their configured lifetime and die when it runs out', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    const email = uniqueEmail('t6-lifetime')
    // Issued while every lifetime is one second; nothing is edited in the database.
    const [verificationToken, resetToken, accessToken] = await withSettings(
      (s) => {
        s.tokens.verificationTtl = 1
        s.tokens.resetTtl = 1
        s.tokens.accessTtl = 1
      },
      async () => [
        await signUpForToken(client, email),
        await forgotForToken(client, user.email),
        await signIn(client, user.email),
      ]
    )
    const hashBefore = await passwordHashOf(user.email)
    await sleep(1500)

    const verify = await verifyWith(client, verificationToken)
    assertInvalidToken(verify)
    const reset = await resetWith(client, resetToken, 'a late passphrase')
    assertInvalidToken(reset)
    const me = await client.get(`${API}/me`).bearerToken(accessToken)
    me.assertStatus(401)
    assert.equal(await passwordHashOf(user.email), hashBefore)
  })

  /**
   * T7 Session cap under concurrency
   */
  test('T7: 50 concurrent sign-ins with cap 5 leave exactly the 5 newest access tokens', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    // The limiter is not what this test is about: let all 50 sign-ins through.
    const responses = await withSettings(
      (s) => {
        s.sessions.limit = 5
        s.rateLimits.signin.perIp.requests = 1000
        s.rateLimits.signin.perEmail.requests = 1000
        s.rateLimits.signin.perIpEmail.requests = 1000
      },
      () =>
        Promise.all(
          Array.from({ length: 50 }, (_, index) =>
            client
              .post(`${API}/auth/signin`)
              .json({ email: user.email, password: PASSWORD, deviceName: `device ${index}` })
          )
        )
    )
    const statuses = responses.map((response) => response.status())
    assert.deepEqual(
      statuses.filter((status) => status !== 200),
      [],
      'every sign-in should succeed'
    )
    const issued = responses.map((response) => response.body().data.token as string)
    const issuedIds = issued.map((token) => Number(partsOf(token).id)).sort((a, b) => b - a)

    const remaining = await tokenRows(user.id, 'access')
    assert.lengthOf(remaining, 5)
    const remainingIds = remaining.map((row) => Number(row.id)).sort((a, b) => b - a)
    assert.deepEqual(remainingIds, issuedIds.slice(0, 5), 'the survivors are the 5 last issued')

    // Newest by (created_at, id) agrees with issue order among the survivors.
    const byRecency = [...remaining]
      .sort(
        (a, b) =>
          new Date(b.created_at).getTime() - new Date(a.created_at).getTime() ||
          Number(b.id) - Number(a.id)
      )
      .map((row) => Number(row.id))
    assert.deepEqual(byRecency, remainingIds)

    // And only those work.
    const checks = await Promise.all(
      issued.map(async (token) => {
        const response = await client.get(`${API}/me`).bearerToken(token)
        return [Number(partsOf(token).id), response.status()] as const
      })
    )
    const working = checks
      .filter(([, status]) => status === 200)
      .map(([tokenId]) => tokenId)
      .sort((a, b) => b - a)
    assert.deepEqual(working, remainingIds)
  })

  /**
   * T8 Revocation is immediate
   */
  test('T8: signout revokes only the presented token', async ({ client }) => {
    const { user, token: first } = await signedInUser(client)
    const second = await signIn(client, user.email)

    const signout = await client.post(`${API}/auth/signout`).bearerToken(first)
    signout.assertStatus(204)
    const withFirst = await client.get(`${API}/me`).bearerToken(first)
    withFirst.assertStatus(401)
    const withSecond = await client.get(`${API}/me`).bearerToken(second)
    withSecond.assertStatus(200)
  })

  test('T8: changing the password revokes every other session and keeps the presented one', async ({
    client,
  }) => {
    const { user, token: current } = await signedInUser(client)
    const others = [await signIn(client, user.email), await signIn(client, user.email)]

    const change = await client
      .put(`${API}/me/password`)
      .bearerToken(current)
      .json({ currentPassword: PASSWORD, password: 'a changed passphrase' })
    change.assertStatus(200)

    const stays = await client.get(`${API}/me`).bearerToken(current)
    stays.assertStatus(200)
    for (const token of others) {
      const response = await client.get(`${API}/me`).bearerToken(token)
      response.assertStatus(401)
    }
  })

  test('T8: revoking one session or all other sessions applies on the next request', async ({
    client,
  }) => {
    const { user, token: current } = await signedInUser(client)
    const [a, b, c] = [
      await signIn(client, user.email),
      await signIn(client, user.email),
      await signIn(client, user.email),
    ]

    const revokeOne = await client
      .delete(`${API}/me/sessions/${partsOf(a).id}`)
      .bearerToken(current)
    revokeOne.assertStatus(204)
    const withA = await client.get(`${API}/me`).bearerToken(a)
    withA.assertStatus(401)
    const withB = await client.get(`${API}/me`).bearerToken(b)
    withB.assertStatus(200)

    const revokeOthers = await client.delete(`${API}/me/sessions`).bearerToken(current)
    revokeOthers.assertStatus(204)
    for (const token of [b, c]) {
      const response = await client.get(`${API}/me`).bearerToken(token)
      response.assertStatus(401)
    }
    const stays = await client.get(`${API}/me`).bearerToken(current)
    stays.assertStatus(200)
  })

  test('T8: a password reset revokes every session, including an attacker’s from a pre-verification signup', async ({
    client,
    assert,
  }) => {
    const victim = uniqueEmail('t8-victim')
    const attackerPassword = 'the attacker knows this passphrase'

    // The attacker signs up first with the victim's address.
    const squat = await client
      .post(`${API}/auth/signup`)
      .json({ email: victim, password: attackerPassword })
    squat.assertStatus(202)

    // The victim follows the link that reached their inbox.
    const verificationToken = await verificationTokenFor(victim)
    const verified = await verifyWith(client, verificationToken)
    verified.assertStatus(200)

    // The attacker signs in with the password they chose.
    const attackerToken = await signIn(client, victim, attackerPassword)
    const attackerMe = await client.get(`${API}/me`).bearerToken(attackerToken)
    attackerMe.assertStatus(200)

    // The victim takes the account back.
    const resetToken = await forgotForToken(client, victim)
    const reset = await resetWith(client, resetToken, 'the victim own passphrase')
    reset.assertStatus(200)

    const afterReset = await client.get(`${API}/me`).bearerToken(attackerToken)
    afterReset.assertStatus(401)
    const oldPassword = await client
      .post(`${API}/auth/signin`)
      .json({ email: victim, password: attackerPassword })
    oldPassword.assertStatus(400)
    const userRow = await db.from('users').where({ email: victim }).firstOrFail()
    assert.lengthOf(await tokenRows(userRow.id, 'access'), 0)
    await signIn(client, victim, 'the victim own passphrase')
    assert.isAtLeast(mailbox.to(victim).length, 2)
  })
})
