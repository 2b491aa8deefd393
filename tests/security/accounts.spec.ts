import { randomBytes } from 'node:crypto'
import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import type { ApiClient, ApiResponse } from '@japa/api-client'
import type { Assert } from '@japa/assert'
import { mailbox } from '#tests/helpers/mailbox'
import { signUpVerified, waitForCount } from '#tests/helpers/mail'
import {
  PASSWORD,
  createUser,
  resetRateLimits,
  signIn,
  signedInUser,
  uniqueEmail,
  countHashes,
  randomLetters,
  assertOneMailBucket,
  assertOneSigninBucket,
} from '#tests/helpers/accounts'

/**
 * SECURITY.md A1, A3–A6: enumeration, mass assignment, email
 * canonicalisation, password policy and roles.
 */

const API = '/api/v1'

/**
 * A POST whose body is sent exactly as written (keys such as `__proto__`
 * survive only in raw JSON text).
 */
function postRaw(client: ApiClient, url: string, body: string) {
  const request = client.post(url).type('application/json')
  request.request.send(body)
  return request
}

function patchRaw(client: ApiClient, url: string, token: string, body: string) {
  const request = client.patch(url).bearerToken(token).type('application/json')
  request.request.send(body)
  return request
}

/**
 * Every response answered `status` with the same body as the first.
 */
function assertAllAlike(assert: Assert, responses: ApiResponse[], status: number) {
  for (const response of responses) response.assertStatus(status)
  const [first, ...rest] = responses.map((response) => response.body())
  for (const body of rest) assert.deepEqual(body, first)
}

function fullWidth(text: string) {
  return [...text]
    .map((char) => (/[a-z]/.test(char) ? String.fromCharCode(char.charCodeAt(0) + 0xfee0) : char))
    .join('')
}

test.group('Security | accounts', (group) => {
  group.each.setup(() => resetRateLimits())

  /**
   * A1 No enumeration by content
   */
  test('A1: signup answers the same for an existing and an unknown email', async ({
    client,
    assert,
  }) => {
    const verified = await createUser()
    const unverified = await createUser({ verified: false })
    const responses = await Promise.all(
      [verified.email, unverified.email, uniqueEmail('a1-unknown')].map((email) =>
        client.post(`${API}/auth/signup`).json({ email, password: 'a fine long passphrase' })
      )
    )
    assertAllAlike(assert, responses, 202)
  })

  test('A1: signin with a wrong password answers exactly like an unknown email', async ({
    client,
    assert,
  }) => {
    const verified = await createUser()
    const unverified = await createUser({ verified: false })
    const wrongPassword = await client
      .post(`${API}/auth/signin`)
      .json({ email: verified.email, password: 'not the password at all' })
    const unverifiedWrongPassword = await client
      .post(`${API}/auth/signin`)
      .json({ email: unverified.email, password: 'not the password at all' })
    const unknown = await client
      .post(`${API}/auth/signin`)
      .json({ email: uniqueEmail('a1-nobody'), password: 'not the password at all' })

    unknown.assertStatus(400)
    unknown.assertBodyContains({ errors: [{ code: 'E_INVALID_CREDENTIALS' }] })
    for (const response of [wrongPassword, unverifiedWrongPassword]) {
      assert.equal(response.status(), unknown.status())
      assert.deepEqual(response.body(), unknown.body())
    }
  })

  test('A1: forgot-password answers the same for an existing and an unknown email', async ({
    client,
    assert,
  }) => {
    const verified = await createUser()
    const unverified = await createUser({ verified: false })
    const responses = await Promise.all(
      [verified.email, unverified.email, uniqueEmail('a1-unknown')].map((email) =>
        client.post(`${API}/auth/password/forgot`).json({ email })
      )
    )
    assertAllAlike(assert, responses, 202)
    // The known address really was acted on: the difference is only in the mailbox.
    await mailbox.waitFor(verified.email, /Reset your password/)
  })

  test('A1: resend answers the same for unverified, verified and unknown emails', async ({
    client,
    assert,
  }) => {
    const verified = await createUser()
    const unverified = await createUser({ verified: false })
    const responses = await Promise.all(
      [unverified.email, verified.email, uniqueEmail('a1-unknown')].map((email) =>
        client.post(`${API}/auth/email/resend`).json({ email })
      )
    )
    assertAllAlike(assert, responses, 202)
    await mailbox.waitFor(unverified.email, /Confirm your email/)
  })

  /**
   * A3 Mass assignment is impossible
   */
  test('A3: extra fields on signup are ignored: role user, unverified, a fresh id', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('a3-signup')
    const maxBefore = await db.from('users').max('id as max').first()
    const body = `{
      "email": ${JSON.stringify(email)},
      "password": "a fine long passphrase",
      "name": "Mallory",
      "id": 1,
      "roles": ["admin"],
      "emailVerifiedAt": "2020-01-01T00:00:00.000Z",
      "email_verified_at": "2020-01-01T00:00:00.000Z",
      "createdAt": "2000-01-01T00:00:00.000Z",
      "__proto__": { "roles": ["admin"], "isAdmin": true, "emailVerifiedAt": "2020-01-01" },
      "$attributes": { "roles": ["admin"], "emailVerifiedAt": "2020-01-01", "id": 1 },
      "$original": { "roles": ["admin"] },
      "$extras": { "roles": ["admin"] },
      "constructor": { "prototype": { "roles": ["admin"], "isAdmin": true } }
    }`
    const response = await postRaw(client, `${API}/auth/signup`, body)
    response.assertStatus(202)

    const rows = await db.from('users').where({ email })
    assert.lengthOf(rows, 1)
    const [user] = rows
    assert.deepEqual(user.roles, ['user'])
    assert.isNull(user.email_verified_at)
    assert.isAbove(Number(user.id), Number(maxBefore?.max ?? 0))
    assert.notEqual(Number(user.id), 1)
    assert.equal(user.name, 'Mallory')
    assert.isAbove(new Date(user.created_at).getFullYear(), 2000)

    // Nothing leaked into shared prototypes of the server process either.
    const probe: Record<string, unknown> = {}
    assert.isUndefined(probe.roles)
    assert.isUndefined(probe.isAdmin)

    // The account is not usable before verification (it was not verified by the payload).
    const signin = await client
      .post(`${API}/auth/signin`)
      .json({ email, password: 'a fine long passphrase' })
    signin.assertStatus(403)
    signin.assertBodyContains({ errors: [{ code: 'E_EMAIL_NOT_VERIFIED' }] })
  })

  test('A3: PATCH /me with roles, email, emailVerifiedAt and id changes only the name', async ({
    client,
    assert,
  }) => {
    const { user, token } = await signedInUser(client, { name: 'Before' })
    const before = await db.from('users').where({ id: user.id }).firstOrFail()
    const body = `{
      "name": "After",
      "id": 1,
      "email": "admin@example.com",
      "roles": ["admin"],
      "emailVerifiedAt": null,
      "email_verified_at": null,
      "password": "a password set through the profile",
      "__proto__": { "roles": ["admin"] },
      "$attributes": { "roles": ["admin"], "email": "admin@example.com", "id": 1 },
      "constructor": { "prototype": { "roles": ["admin"] } }
    }`
    const response = await patchRaw(client, `${API}/me`, token, body)
    response.assertStatus(200)
    response.assertBodyContains({
      data: { id: user.id, email: user.email, name: 'After', roles: ['user'] },
    })

    const after = await db.from('users').where({ id: user.id }).firstOrFail()
    assert.deepEqual(
      { ...after, name: before.name, updated_at: before.updated_at },
      before,
      'only the name (and updated_at) may change'
    )
    assert.equal(after.name, 'After')
    const me = await client.get(`${API}/me`).bearerToken(token)
    me.assertBodyContains({ data: { roles: ['user'], email: user.email } })
    await signIn(client, user.email, PASSWORD)
  })

  /**
   * A4 Email canonicalisation
   */
  test('A4: case, spaces and full-width variants of one address are one account', async ({
    client,
    assert,
  }) => {
    const local = `alice${randomLetters(10)}`
    const canonical = `${local}@example.com`
    const variants = [
      ` ${local[0].toUpperCase()}${local.slice(1)}@EXAMPLE.com `,
      `${local.toUpperCase()}@example.com`,
      `${fullWidth(local)}@example.com`,
    ]
    const password = 'one account many spellings'

    await signUpVerified(client, variants[0], password, canonical)
    for (const variant of variants.slice(1)) {
      const signup = await client
        .post(`${API}/auth/signup`)
        .json({ email: variant, password: 'another passphrase entirely' })
      signup.assertStatus(202)
    }
    await waitForCount(canonical, /already have an account/, 2)

    const rows = await db.from('users').whereILike('email', `%${local}%`)
    assert.lengthOf(rows, 1)
    assert.equal(rows[0].email, canonical)

    for (const variant of variants) {
      const signin = await client.post(`${API}/auth/signin`).json({ email: variant, password })
      signin.assertStatus(200)
      assert.equal(signin.body().data.user.email, canonical)
    }
  })

  test('A4: the variants share one rate-limit bucket', async ({ client }) => {
    const local = `alice${randomLetters(10)}`
    const canonical = `${local}@example.com`
    const variants = [
      ` ${local.toUpperCase()}@Example.COM `,
      `${local.toUpperCase()}@example.com`,
      `${fullWidth(local)}@example.com`,
    ]
    await createUser({ email: canonical })

    // Mail routes: three requests per email per hour, spread over the spellings.
    await assertOneMailBucket(client, variants, canonical)

    // Sign-in: the per-email limit (10), with the per-IP and per-IP+email limits
    // raised so that only the per-email bucket can be the one that trips.
    await assertOneSigninBucket(client, variants.slice(0, 2), variants[2])
  })

  test('A4: mail goes to the stored canonical address, never to the typed one', async ({
    client,
    assert,
  }) => {
    const local = `alice${randomLetters(10)}`
    const canonical = `${local}@example.com`
    const typed = [` ${local.toUpperCase()}@EXAMPLE.com `, `${fullWidth(local)}@example.com`]

    const signup = await client
      .post(`${API}/auth/signup`)
      .json({ email: typed[0], password: 'a fine long passphrase' })
    signup.assertStatus(202)
    const again = await client
      .post(`${API}/auth/signup`)
      .json({ email: typed[1], password: 'a fine long passphrase' })
    again.assertStatus(202)
    const forgot = await client.post(`${API}/auth/password/forgot`).json({ email: typed[1] })
    forgot.assertStatus(202)

    // Look-alike letters from other scripts (Cyrillic "а", dotless "ı") are
    // other addresses or refused — never a way to this account's mail.
    const lookAlikes = [
      `${local.replace('a', '\u0430')}@example.com`,
      `${local.replace('i', '\u0131')}@example.com`,
    ]
    for (const email of lookAlikes) {
      const response = await client.post(`${API}/auth/password/forgot`).json({ email })
      assert.oneOf(response.status(), [202, 422])
    }

    await mailbox.waitFor(canonical, /Confirm your email/)
    await mailbox.waitFor(canonical, /already have an account/)
    await mailbox.waitFor(canonical, /Reset your password/)
    // Let any stray delivery arrive before looking at every envelope.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const folded = (address: string) => address.normalize('NFKC').toLowerCase()
    const related = mailbox.messages.filter((message) =>
      message.to.some((address) => folded(address).includes(local.slice(5)))
    )
    assert.lengthOf(related, 3)
    for (const message of related) assert.deepEqual(message.to, [canonical])
  })

  /**
   * A5 Password policy
   */
  test('A5: a 7-character password is refused with rule minLength', async ({ client }) => {
    const response = await client
      .post(`${API}/auth/signup`)
      .json({ email: uniqueEmail('a5-short'), password: 'sevench' })
    response.assertStatus(422)
    response.assertBodyContains({
      errors: [{ code: 'E_VALIDATION_ERROR', field: 'password', rule: 'minLength' }],
    })
  })

  test('A5: 64- and 128-character passwords are accepted', async ({ client, assert }) => {
    for (const length of [64, 128]) {
      const email = uniqueEmail(`a5-len${length}`)
      const password = randomBytes(length).toString('base64url').slice(0, length)
      assert.lengthOf(password, length)
      await signUpVerified(client, email, password)
      await signIn(client, email, password)
    }
  })

  test('A5: a 129-character password is refused with maxLength before any hashing', async ({
    client,
    assert,
  }) => {
    const { user, token } = await signedInUser(client)
    const tooLong = 'x'.repeat(129)

    const [hashes] = await countHashes(async () => {
      const signup = await client
        .post(`${API}/auth/signup`)
        .json({ email: uniqueEmail('a5-long'), password: tooLong })
      signup.assertStatus(422)
      signup.assertBodyContains({
        errors: [{ code: 'E_VALIDATION_ERROR', field: 'password', rule: 'maxLength' }],
      })
      const reset = await client
        .post(`${API}/auth/password/reset`)
        .json({ token: 'prt_MQ.eA', password: tooLong })
      reset.assertStatus(422)
      reset.assertBodyContains({ errors: [{ field: 'password', rule: 'maxLength' }] })
      const change = await client
        .put(`${API}/me/password`)
        .bearerToken(token)
        .json({ currentPassword: PASSWORD, password: tooLong })
      change.assertStatus(422)
      change.assertBodyContains({ errors: [{ field: 'password', rule: 'maxLength' }] })
      const signin = await client
        .post(`${API}/auth/signin`)
        .json({ email: user.email, password: tooLong })
      signin.assertStatus(422)
      signin.assertBodyContains({ errors: [{ field: 'password', rule: 'maxLength' }] })
    })
    assert.equal(hashes, 0, 'no password may be hashed')

    // Control: the counter does see hashing — a 128-character sign-up hashes once.
    const [controlHashes] = await countHashes(async () => {
      const accepted = await client
        .post(`${API}/auth/signup`)
        .json({ email: uniqueEmail('a5-max'), password: 'y'.repeat(128) })
      accepted.assertStatus(202)
    })
    assert.equal(controlHashes, 1)
  })

  test('A5: a common password is refused with rule commonPassword and a reason', async ({
    client,
    assert,
  }) => {
    const response = await client
      .post(`${API}/auth/signup`)
      .json({ email: uniqueEmail('a5-common'), password: 'password1' })
    response.assertStatus(422)
    const [error] = response.body().errors
    assert.include(error, { code: 'E_VALIDATION_ERROR', field: 'password', rule: 'commonPassword' })
    assert.match(error.message, /common|breach/i)
  })

  test('A5: a password is used exactly as typed, surrounding spaces included', async ({
    client,
  }) => {
    const email = uniqueEmail('a5-spaces')
    const password = '  spaces around this passphrase  '
    await signUpVerified(client, email, password)

    for (const altered of [password.trim(), password.trimStart(), password.trimEnd()]) {
      const response = await client.post(`${API}/auth/signin`).json({ email, password: altered })
      response.assertStatus(400)
    }
    await signIn(client, email, password)
  })

  test('A5: no composition rules: a lowercase passphrase is accepted', async ({ client }) => {
    const email = uniqueEmail('a5-plain')
    await signUpVerified(client, email, 'all lowercase words here')
    await signIn(client, email, 'all lowercase words here')
  })

  test('A5: passwords are stored as argon2id with at least m=19456, t=2, p=1', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('a5-argon')
    await signUpVerified(client, email, 'a fine long passphrase')
    const { password } = await db.from('users').where({ email }).firstOrFail()
    const match = String(password).match(/^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/)
    assert.exists(match, 'an argon2id hash')
    const [, memory, iterations, parallelism] = match!.map(Number)
    assert.isAtLeast(memory, 19456)
    assert.isAtLeast(iterations, 2)
    assert.isAtLeast(parallelism, 1)
  })

  /**
   * A6 Roles
   */
  const protectedRoutes: Array<{
    method: 'get' | 'post' | 'patch' | 'put' | 'delete'
    path: string
    body?: object
  }> = [
    { method: 'post', path: '/auth/signout' },
    { method: 'get', path: '/me' },
    { method: 'patch', path: '/me', body: { name: 'x' } },
    {
      method: 'put',
      path: '/me/password',
      body: { currentPassword: PASSWORD, password: 'x'.repeat(20) },
    },
    { method: 'get', path: '/me/sessions' },
    { method: 'delete', path: '/me/sessions' },
    { method: 'delete', path: '/me/sessions/1' },
    { method: 'get', path: '/admin/users' },
    { method: 'put', path: '/admin/users/1/roles', body: { roles: ['admin'] } },
    { method: 'delete', path: '/admin/users/1/sessions' },
  ]

  test('A6: every protected route answers 401 without a token', async ({ client }) => {
    for (const route of protectedRoutes) {
      const request = client[route.method](`${API}${route.path}`)
      const response = await (route.body ? request.json(route.body) : request)
      response.assertStatus(401)
      response.assertBodyContains({ errors: [{ code: 'E_UNAUTHORIZED_ACCESS' }] })
    }
  })

  test('A6: admin routes answer 403 to a valid user token and change nothing', async ({
    client,
    assert,
  }) => {
    const { user, token } = await signedInUser(client)
    const other = await createUser()
    const otherToken = await signIn(client, other.email)

    for (const route of protectedRoutes.filter((r) => r.path.startsWith('/admin'))) {
      const path = route.path.replace('/1/', `/${route.method === 'put' ? user.id : other.id}/`)
      const request = client[route.method](`${API}${path}`).bearerToken(token)
      const response = await (route.body ? request.json(route.body) : request)
      response.assertStatus(403)
      response.assertBodyContains({ errors: [{ code: 'E_AUTHORIZATION_FAILURE' }] })
    }

    const row = await db.from('users').where({ id: user.id }).firstOrFail()
    assert.deepEqual(row.roles, ['user'])
    const otherStill = await client.get(`${API}/me`).bearerToken(otherToken)
    otherStill.assertStatus(200)
  })

  test('A6: an admin demoted by another admin gets 403 on the very next request', async ({
    client,
  }) => {
    const { token: demoterToken } = await signedInUser(client, { roles: ['user', 'admin'] })
    const { user: demoted, token: demotedToken } = await signedInUser(client, {
      roles: ['user', 'admin'],
    })

    const before = await client.get(`${API}/admin/users`).bearerToken(demotedToken)
    before.assertStatus(200)

    const demote = await client
      .put(`${API}/admin/users/${demoted.id}/roles`)
      .bearerToken(demoterToken)
      .json({ roles: ['user'] })
    demote.assertStatus(200)
    demote.assertBodyContains({ data: { id: demoted.id, roles: ['user'] } })

    const after = await client.get(`${API}/admin/users`).bearerToken(demotedToken)
    after.assertStatus(403)
    after.assertBodyContains({ errors: [{ code: 'E_AUTHORIZATION_FAILURE' }] })
    const selfPromotion = await client
      .put(`${API}/admin/users/${demoted.id}/roles`)
      .bearerToken(demotedToken)
      .json({ roles: ['admin'] })
    selfPromotion.assertStatus(403)
    // Still a signed-in user, just not an admin.
    const me = await client.get(`${API}/me`).bearerToken(demotedToken)
    me.assertStatus(200)
    me.assertBodyContains({ data: { roles: ['user'] } })
  })
})
