import { randomBytes, randomInt } from 'node:crypto'
import { test } from '@japa/runner'
import type { ApiClient } from '@japa/api-client'
import settings from '#config/setting'
import { linkIn, mailbox } from '#tests/helpers/mailbox'
import { waitForCount } from '#tests/helpers/mail'
import {
  PASSWORD,
  createUser,
  resetRateLimits,
  signIn,
  signedInUser,
  uniqueEmail,
  countHashes,
  withSettings,
} from '#tests/helpers/accounts'

/**
 * SECURITY.md R1–R4: brute force under concurrency, bucket resets,
 * forwarded headers, and oversized or odd input.
 */

const API = '/api/v1'

function wrongSignin(client: ApiClient, email: string) {
  return client.post(`${API}/auth/signin`).json({ email, password: 'a wrong passphrase guess' })
}

function randomIPv4() {
  return [randomInt(1, 224), randomInt(0, 256), randomInt(0, 256), randomInt(1, 255)].join('.')
}

/**
 * A POST whose body is sent exactly as written, valid JSON or not.
 */
function postRaw(client: ApiClient, url: string, body: string) {
  const request = client.post(url).type('application/json')
  request.request.send(body)
  return request
}

function assertRetryAfter(
  header: string | undefined,
  assert: { isTrue(value: boolean, message?: string): void }
) {
  assert.isTrue(/^\d+$/.test(String(header)) && Number(header) >= 1, `Retry-After: ${header}`)
}

test.group('Security | abuse', (group) => {
  group.each.setup(() => resetRateLimits())

  /**
   * R1 Brute force is bounded under concurrency
   */
  test('R1: of 50 concurrent wrong passwords for one email at most 5 reach hashing, the rest get 429', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    const limit = settings.rateLimits.signin.perIpEmail.requests
    assert.equal(limit, 5)

    const [hashed, responses] = await countHashes(() =>
      Promise.all(Array.from({ length: 50 }, () => wrongSignin(client, user.email)))
    )
    assert.isAtMost(hashed, limit, `${hashed} attempts reached password hashing`)
    // The counter works: the attempts that were let through were really checked.
    assert.isAtLeast(hashed, 1)

    const statuses = responses.map((response) => response.status())
    const failures = responses.filter((response) => response.status() === 400)
    const limited = responses.filter((response) => response.status() === 429)
    assert.equal(failures.length + limited.length, 50, `statuses: ${statuses.join(',')}`)
    assert.isAtMost(failures.length, limit)
    assert.isAtLeast(limited.length, 50 - limit)
    for (const response of failures) {
      response.assertBodyContains({ errors: [{ code: 'E_INVALID_CREDENTIALS' }] })
    }
    for (const response of limited) {
      response.assertBodyContains({ errors: [{ code: 'E_TOO_MANY_REQUESTS' }] })
      assertRetryAfter(response.header('retry-after'), assert)
    }

    // Now even the right password is refused, without hashing it.
    const [rightHashes, right] = await countHashes(() =>
      client.post(`${API}/auth/signin`).json({ email: user.email, password: PASSWORD })
    )
    right.assertStatus(429)
    right.assertBodyContains({ errors: [{ code: 'E_TOO_MANY_REQUESTS' }] })
    assertRetryAfter(right.header('retry-after'), assert)
    assert.equal(rightHashes, 0)
  })

  /**
   * R2 No bucket reset by interleaving
   */
  test('R2: a successful sign-in to another account does not reset the failure count', async ({
    client,
  }) => {
    const target = await createUser()
    const mine = await createUser()

    for (let attempt = 0; attempt < 4; attempt++) {
      const failure = await wrongSignin(client, target.email)
      failure.assertStatus(400)
    }
    await signIn(client, mine.email)

    const fifth = await wrongSignin(client, target.email)
    fifth.assertStatus(400)
    fifth.assertBodyContains({ errors: [{ code: 'E_INVALID_CREDENTIALS' }] })
    const sixth = await wrongSignin(client, target.email)
    sixth.assertStatus(429)
    sixth.assertBodyContains({ errors: [{ code: 'E_TOO_MANY_REQUESTS' }] })
  })

  test('R2: a successful sign-in does not reset the per-address count of guesses at other accounts', async ({
    client,
  }) => {
    const targets = await Promise.all([createUser(), createUser(), createUser(), createUser()])
    const mine = await createUser()
    await withSettings(
      (s) => {
        // Only the per-address bucket can trip: 5 attempts from one IP.
        s.rateLimits.signin.perIp.requests = 5
        s.rateLimits.signin.perEmail.requests = 1000
        s.rateLimits.signin.perIpEmail.requests = 1000
      },
      async () => {
        // One guess at each of four accounts, then the attacker's own sign-in.
        for (const target of targets) {
          const failure = await wrongSignin(client, target.email)
          failure.assertStatus(400)
        }
        await signIn(client, mine.email)

        // The success gave back only its own attempt: one guess is left.
        const fifth = await wrongSignin(client, uniqueEmail())
        fifth.assertStatus(400)
        fifth.assertBodyContains({ errors: [{ code: 'E_INVALID_CREDENTIALS' }] })
        const sixth = await wrongSignin(client, uniqueEmail())
        sixth.assertStatus(429)
        sixth.assertBodyContains({ errors: [{ code: 'E_TOO_MANY_REQUESTS' }] })
      }
    )
  })

  /**
   * R3 Forwarded headers are not trusted
   */
  test('R3: spoofed X-Forwarded-For values do not escape an exhausted sign-in bucket', async ({
    client,
  }) => {
    const user = await createUser()
    for (let attempt = 0; attempt < 5; attempt++) {
      const failure = await wrongSignin(client, user.email).header('X-Forwarded-For', randomIPv4())
      failure.assertStatus(400)
    }
    // Were any of these headers believed, each would open a fresh IP+email
    // bucket, and the per-email bucket (10) still has room: they would get 400.
    const spoofs: Array<Record<string, string>> = [
      { 'X-Forwarded-For': randomIPv4() },
      { 'X-Forwarded-For': `${randomIPv4()}, ${randomIPv4()}` },
      { 'X-Forwarded-For': `2001:db8:${randomInt(1, 65535).toString(16)}::1` },
      { 'X-Real-IP': randomIPv4() },
      { Forwarded: `for=${randomIPv4()}` },
    ]
    for (const headers of spoofs) {
      const response = await wrongSignin(client, user.email).headers(headers)
      response.assertStatus(429)
      response.assertBodyContains({ errors: [{ code: 'E_TOO_MANY_REQUESTS' }] })
    }
  })

  test('R3: Host and X-Forwarded-Host never choose the host of an emailed link', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    const pending = await createUser({ verified: false })
    const evil = {
      'Host': 'evil.example',
      'X-Forwarded-Host': 'evil.example',
      'X-Forwarded-Proto': 'https',
      'Origin': 'https://evil.example',
      'Referer': 'https://evil.example/reset-password',
    }
    const forgot = await client
      .post(`${API}/auth/password/forgot`)
      .headers(evil)
      .json({ email: user.email })
    forgot.assertStatus(202)
    const resend = await client
      .post(`${API}/auth/email/resend`)
      .headers(evil)
      .json({ email: pending.email })
    resend.assertStatus(202)

    const reset = await mailbox.waitFor(user.email, /Reset your password/)
    const verify = await mailbox.waitFor(pending.email, /Confirm your email/)
    const resetLink = linkIn(reset, settings.links.resetPassword)
    const verifyLink = linkIn(verify, settings.links.verifyEmail)
    assert.isTrue(resetLink.href.startsWith(settings.links.resetPassword))
    assert.isTrue(verifyLink.href.startsWith(settings.links.verifyEmail))
    for (const mail of [reset, verify]) assert.notInclude(mail.text, 'evil.example')
  })

  /**
   * R4 Oversized and odd input
   */
  test('R4: a 1 MB password gets 413 quickly and is never hashed', async ({ client, assert }) => {
    const user = await createUser()
    const [hashes] = await countHashes(async () => {
      for (const route of ['signin', 'signup', 'password/reset']) {
        const started = performance.now()
        const response = await client
          .post(`${API}/auth/${route}`)
          .json({ email: user.email, token: 'prt_MQ.eA', password: 'p'.repeat(1024 * 1024) })
        const elapsed = performance.now() - started
        response.assertStatus(413)
        response.assertBodyContains({ errors: [{ code: 'E_REQUEST_ENTITY_TOO_LARGE' }] })
        assert.isBelow(elapsed, 1000, `${route} took ${Math.round(elapsed)} ms`)
      }
    })
    assert.equal(hashes, 0)
  })

  test('R4: arrays, objects, null, numbers and booleans where strings belong get 422, never 500', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('r4-types')
    const valid: Record<string, Record<string, unknown>> = {
      '/auth/signup': { email, password: 'a fine long passphrase', name: 'Name' },
      '/auth/signin': { email, password: 'a fine long passphrase', deviceName: 'Phone' },
      '/auth/password/forgot': { email },
      '/auth/email/resend': { email },
      '/auth/password/reset': { token: 'prt_MQ.eA', password: 'a fine long passphrase' },
      '/auth/email/verify': { token: 'evt_MQ.eA' },
    }
    const optional = new Set(['name', 'deviceName'])
    const odd: unknown[] = [
      [email],
      [email, 'attacker@example.com'],
      { toString: email },
      { $ne: null },
      null,
      42,
      true,
    ]
    const [hashes] = await countHashes(async () => {
      for (const [path, body] of Object.entries(valid)) {
        for (const field of Object.keys(body)) {
          for (const value of odd) {
            if (value === null && optional.has(field)) continue
            const response = await client.post(`${API}${path}`).json({ ...body, [field]: value })
            assert.equal(
              response.status(),
              422,
              `${path} with ${field}=${JSON.stringify(value)} answered ${response.status()}`
            )
            response.assertBodyContains({ errors: [{ code: 'E_VALIDATION_ERROR', field }] })
          }
        }
      }
    })
    assert.equal(hashes, 0, 'invalid input is never hashed')
  })

  test('R4: null for optional strings is read as absent, never 500', async ({ client }) => {
    const user = await createUser()
    const signin = await client
      .post(`${API}/auth/signin`)
      .json({ email: user.email, password: PASSWORD, deviceName: null })
    signin.assertStatus(200)
    const signup = await client
      .post(`${API}/auth/signup`)
      .json({ email: uniqueEmail('r4-null'), password: 'a fine long passphrase', name: null })
    signup.assertStatus(202)
  })

  test('R4: an array of emails on forgot-password is refused and mails no one', async ({
    client,
    assert,
  }) => {
    const victim = await createUser()
    const attacker = uniqueEmail('r4-attacker')
    const response = await client
      .post(`${API}/auth/password/forgot`)
      .json({ email: [victim.email, attacker] })
    response.assertStatus(422)
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.lengthOf(mailbox.to(victim.email), 0)
    assert.lengthOf(mailbox.to(attacker), 0)
  })

  test('R4: malformed JSON gets 400 and duplicated keys parse without 500', async ({ client }) => {
    for (const body of [
      '{"email": "a@example.com",',
      '{email: 1}',
      '{"a":1}}',
      '{"a":"\\x"}',
      '[1,]',
    ]) {
      const response = await postRaw(client, `${API}/auth/password/forgot`, body)
      response.assertStatus(400)
      response.assertBodyContains({ errors: [{ code: 'E_BAD_REQUEST' }] })
    }

    const user = await createUser()
    const duplicateEmail = await postRaw(
      client,
      `${API}/auth/password/forgot`,
      `{"email":"first@example.com","email":${JSON.stringify(user.email)}}`
    )
    duplicateEmail.assertStatus(202)
    const duplicatePassword = await postRaw(
      client,
      `${API}/auth/signin`,
      `{"email":${JSON.stringify(user.email)},"password":"wrong guess here","password":${JSON.stringify(PASSWORD)}}`
    )
    // The last value wins, as in JSON.parse.
    duplicatePassword.assertStatus(200)
    const duplicateProto = await postRaw(
      client,
      `${API}/auth/signin`,
      `{"__proto__":{"a":1},"__proto__":{"b":2},"email":${JSON.stringify(user.email)},"password":"wrong guess here"}`
    )
    duplicateProto.assertStatus(400)
    await waitForCount(user.email, /Reset your password/, 1)
  })

  test('R4: malformed Authorization headers get 401 or 431, never 500', async ({
    client,
    assert,
  }) => {
    const { user, token } = await signedInUser(client)
    const [, encodedId, secret] = token.match(/^oat_([^.]+)\.(.+)$/)!
    const withId = (id: string) => `oat_${Buffer.from(id).toString('base64url')}.${secret}`

    const headers: Array<[string, string, number[]]> = [
      ['no scheme', token, [401]],
      ['empty', '', [401]],
      ['scheme alone', 'Bearer', [401]],
      ['scheme and a space', 'Bearer ', [401]],
      [
        'another scheme',
        `Basic ${Buffer.from(`${user.email}:${PASSWORD}`).toString('base64')}`,
        [401],
      ],
      ['two spaces', `Bearer  ${token}`, [401]],
      ['a non-numeric id', `Bearer ${withId('abc')}`, [401]],
      ['a negative id', `Bearer ${withId('-1')}`, [401]],
      ['an id overflowing bigint', `Bearer ${withId('99999999999999999999')}`, [401]],
      ['an id just past bigint', `Bearer ${withId('9223372036854775808')}`, [401]],
      ['a non-base64 id', `Bearer oat_%%%.${secret}`, [401]],
      ['no secret', `Bearer oat_${encodedId}.`, [401]],
      ['binary noise', `Bearer ${randomBytes(64).toString('base64')}`, [401]],
      // Over Node's 16 KB header limit: Node itself answers 431 before the app sees it.
      ['20 KB', `Bearer oat_${'A'.repeat(20 * 1024)}`, [401, 431]],
    ]
    for (const [label, value, expected] of headers) {
      const response = await client.get(`${API}/me`).header('Authorization', value)
      assert.oneOf(response.status(), expected, `${label}: ${response.status()}`)
    }

    // The scheme is case-insensitive (RFC 9110 §11.1): "bearer" works.
    const lowercase = await client.get(`${API}/me`).header('Authorization', `bearer ${token}`)
    lowercase.assertStatus(200)
  })

  /**
   * The stock AccessTokensGuard splits the header on spaces and uses the
   * second part, ignoring the rest; the app checks the header's whole shape.
   */
  test('R4: an Authorization header carrying two tokens gets 401', async ({ client }) => {
    const { user, token } = await signedInUser(client)
    const other = await signIn(client, user.email)
    // One credential per header (RFC 6750 §2.1: b64token has no spaces). A
    // header with two is malformed, whichever of them is valid.
    for (const value of [`Bearer ${token} ${other}`, `Bearer ${token} garbage`]) {
      const response = await client.get(`${API}/me`).header('Authorization', value)
      response.assertStatus(401)
      response.assertBodyContains({ errors: [{ code: 'E_UNAUTHORIZED_ACCESS' }] })
    }
  })

  /**
   * The bodyparser's strict JSON mode refuses a body that does not start
   * with `{` or `[` before parsing it; that answers 400 like malformed JSON.
   */
  test('R4: a JSON body that is not JSON at all gets 400 like any malformed JSON', async ({
    client,
  }) => {
    for (const body of ['hello', '\u0000', 'email=a@example.com']) {
      const response = await postRaw(client, `${API}/auth/password/forgot`, body)
      response.assertStatus(400)
      response.assertBodyContains({ errors: [{ code: 'E_BAD_REQUEST' }] })
    }
  })

  test('R4: JSON that is not an object gets 400 or 422, never 500', async ({ client }) => {
    for (const body of ['null', '42', '"a@example.com"', 'true']) {
      const response = await postRaw(client, `${API}/auth/password/forgot`, body)
      response.assertStatus(400)
      response.assertBodyContains({ errors: [{ code: 'E_BAD_REQUEST' }] })
    }
    for (const body of ['[]', '[{"email":"a@example.com"}]']) {
      const response = await postRaw(client, `${API}/auth/password/forgot`, body)
      response.assertStatus(422)
      response.assertBodyContains({ errors: [{ code: 'E_VALIDATION_ERROR', field: 'email' }] })
    }
  })

  test('R4: non-numeric and oversized session ids get 404, never 500', async ({ client }) => {
    const { token } = await signedInUser(client)
    for (const id of [
      'abc',
      '99999999999999999999',
      '9223372036854775808',
      '0',
      '-1',
      '1.5',
      '%00',
    ]) {
      const response = await client.delete(`${API}/me/sessions/${id}`).bearerToken(token)
      response.assertStatus(404)
    }
    const admin = await signedInUser(client, { roles: ['admin'] })
    for (const id of ['abc', '99999999999999999999']) {
      const roles = await client
        .put(`${API}/admin/users/${id}/roles`)
        .bearerToken(admin.token)
        .json({ roles: ['user'] })
      roles.assertStatus(404)
      const sessions = await client
        .delete(`${API}/admin/users/${id}/sessions`)
        .bearerToken(admin.token)
      sessions.assertStatus(404)
    }
    const unknown = await client
      .delete(`${API}/admin/users/999999999999/sessions`)
      .bearerToken(admin.token)
    unknown.assertStatus(404)
  })
})
