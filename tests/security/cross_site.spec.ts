import { test } from '@japa/runner'
import router from '@adonisjs/core/services/router'
import settings from '#config/setting'
import User from '#models/user'
import { mailbox } from '#tests/helpers/mailbox'
import { rawRequest } from '#tests/security/helpers/raw_http'
import { resetRateLimits, signedInUser, uniqueEmail, createUser } from '#tests/helpers/accounts'

/**
 * SECURITY.md R6: a body that is not JSON never reaches a controller (what
 * a cross-site form or `text/plain` post sends without a preflight), and
 * CORS answers only the configured origins, with `Vary: Origin`.
 */

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const FRONT_END = new URL(settings.links.verifyEmail).origin

/**
 * Every route that takes a body, with its `:id` filled in.
 */
function bodyRoutes() {
  return Object.values(router.toJSON())
    .flat()
    .flatMap((route) =>
      route.methods
        .filter((method) => UNSAFE.has(method))
        .map((method) => ({ method, path: route.pattern.replace(':id', '1') }))
    )
}

/**
 * Bodies a browser sends cross-site without a CORS preflight, and other
 * types that are not UTF-8 JSON.
 */
const NOT_JSON: Array<[string, string]> = [
  ['application/x-www-form-urlencoded', 'email=victim%40example.com&name=Bob'],
  ['text/plain', '{"email":"victim@example.com","name":"Bob"}'],
  ['text/plain;charset=UTF-8', '{"email":"victim@example.com","name":"Bob"}'],
  [
    'multipart/form-data; boundary=x',
    '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nBob\r\n--x--',
  ],
  ['application/json; charset=latin1', '{"email":"victim@example.com"}'],
  ['application/vnd.api+json', '{"email":"victim@example.com"}'],
  ['application/jsonx', '{"email":"victim@example.com"}'],
]

test.group('Security | R6 cross-site requests', (group) => {
  group.each.setup(() => resetRateLimits())

  test('R6: every route that takes a body refuses each non-JSON type with 415', async ({
    client,
    assert,
  }) => {
    // An admin, so that every route would reach its controller if the check were missing.
    const { token } = await signedInUser(client, { roles: ['admin'] })
    const routes = bodyRoutes()
    assert.isAtLeast(routes.length, 12)
    for (const { method, path } of routes) {
      for (const [type, body] of NOT_JSON) {
        const response = await rawRequest(path, {
          method,
          headers: {
            'Content-Type': type,
            'Content-Length': String(Buffer.byteLength(body)),
            'Authorization': `Bearer ${token}`,
          },
          body,
        })
        assert.equal(response.status, 415, `${method} ${path} as ${type}: ${response.text}`)
        assert.equal(JSON.parse(response.text).errors[0].code, 'E_UNSUPPORTED_MEDIA_TYPE')
      }
    }
  })

  test('R6: a cross-site form post changes nothing and sends no mail', async ({
    client,
    assert,
  }) => {
    const { user, token } = await signedInUser(client, { name: 'Alice' })
    const profile = await rawRequest('/api/v1/me', {
      method: 'PATCH',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'Authorization': `Bearer ${token}`,
        'Origin': 'https://evil.example',
      },
      body: 'name=Bob',
    })
    assert.equal(profile.status, 415)
    const stored = await User.findOrFail(user.id)
    assert.equal(stored.name, 'Alice')

    const victim = await createUser()
    const forgot = await rawRequest('/api/v1/auth/password/forgot', {
      headers: { 'Content-Type': 'text/plain', 'Origin': 'https://evil.example' },
      body: JSON.stringify({ email: victim.email }),
    })
    assert.equal(forgot.status, 415)
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.lengthOf(mailbox.to(victim.email), 0)
  })

  test('R6: a JSON body without its content type gets 415 naming the fix, not a field error', async ({
    assert,
  }) => {
    const response = await rawRequest('/api/v1/auth/password/forgot', {
      headers: {},
      body: JSON.stringify({ email: uniqueEmail() }),
    })
    assert.equal(response.status, 415)
    assert.include(JSON.parse(response.text).errors[0].message, 'application/json')
  })

  test('R6: UTF-8 JSON in any spelling is accepted, and an empty body needs no type', async ({
    client,
  }) => {
    for (const type of [
      'application/json',
      'Application/JSON',
      'application/json; charset=utf-8',
      'application/json;charset="UTF-8"',
    ]) {
      const response = await client
        .post('/api/v1/auth/password/forgot')
        .header('content-type', type)
        .unsafeJson(JSON.stringify({ email: uniqueEmail() }))
      response.assertStatus(202)
      await resetRateLimits()
    }
    const { token } = await signedInUser(client)
    const signout = await client
      .post('/api/v1/auth/signout')
      .bearerToken(token)
      .header('content-type', 'text/plain')
    signout.assertStatus(204)
  })

  test('R6: CORS allows the configured origin only and always says Vary: Origin', async ({
    client,
    assert,
  }) => {
    const allowed = await client.get('/health/live').header('origin', FRONT_END)
    assert.equal(allowed.header('access-control-allow-origin'), FRONT_END)
    assert.include(allowed.header('vary') ?? '', 'Origin')

    for (const origin of ['https://evil.example', `${FRONT_END}.evil.example`, 'null']) {
      const refused = await client.get('/health/live').header('origin', origin)
      assert.isUndefined(refused.header('access-control-allow-origin'), origin)
      assert.include(refused.header('vary') ?? '', 'Origin')
    }
    const none = await client.get('/health/live')
    assert.include(none.header('vary') ?? '', 'Origin')

    const preflight = await client
      .options('/api/v1/me')
      .header('origin', 'https://evil.example')
      .header('access-control-request-method', 'PATCH')
    assert.isUndefined(preflight.header('access-control-allow-origin'))
    assert.include(preflight.header('vary') ?? '', 'Origin')
  })
})
