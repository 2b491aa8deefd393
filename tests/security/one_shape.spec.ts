import { test } from '@japa/runner'
import type { Assert } from '@japa/assert'
import type { ApiClient } from '@japa/api-client'
import User from '#models/user'
import { head, rawExchange, rawRequest, type RawResponse } from '#tests/security/helpers/raw_http'
import { resetRateLimits, signedInUser, uniqueEmail } from '#tests/helpers/accounts'

/**
 * SECURITY.md R7: every error a client can receive — a malformed URL, an
 * unreadable or oversized header, a wrong method — is JSON in the API's
 * error shape; text that is not valid Unicode is refused with 422, so what
 * is stored is what was accepted.
 */

/**
 * A raw answer is JSON `{ errors: [{ code, message }] }` with `code`.
 */
function assertShape(assert: Assert, response: RawResponse, status: number, code: string) {
  assert.equal(response.status, status, response.text)
  assert.match(response.contentType, /^application\/json/)
  const body = JSON.parse(response.text)
  assert.equal(body.errors[0].code, code)
  assert.isString(body.errors[0].message)
}

const LONE_SURROGATES = ['x\ud800y', '\udfff', 'ok\ud83d', '\udc00\ud800']

async function assertRefusedText(
  assert: Assert,
  response: Awaited<ReturnType<ApiClient['post']>>,
  field: string
) {
  response.assertStatus(422)
  const entry = response.body().errors.find((error: any) => error.field === field)
  assert.exists(entry, JSON.stringify(response.body()))
  assert.equal(entry.code, 'E_VALIDATION_ERROR')
  assert.equal(entry.rule, 'wellFormed')
}

test.group('Security | R7 one shape for every answer', (group) => {
  group.each.setup(() => resetRateLimits())

  test('R7: malformed percent-escapes in a path answer 400 E_BAD_REQUEST as JSON', async ({
    assert,
  }) => {
    for (const path of [
      '/api/v1/%E0%A4%A',
      '/api/v1/me/%zz',
      '/%',
      '/api/v1/auth/%ED%A0%80',
      '/health/%C0%AF',
    ]) {
      const response = await rawRequest(path, { method: 'GET' })
      assertShape(assert, response, 400, 'E_BAD_REQUEST')
    }
  })

  test('R7: oversized headers answer 431 and unreadable ones 400, as JSON', async ({ assert }) => {
    const oversized = await rawExchange(
      head('GET /api/v1/me HTTP/1.1', [['X-Padding', 'a'.repeat(100_000)]])
    )
    assertShape(assert, oversized, 431, 'E_REQUEST_HEADER_FIELDS_TOO_LARGE')

    const many = await rawExchange(
      head(
        'GET /health/live HTTP/1.1',
        Array.from({ length: 2000 }, (_, index): [string, string] => [
          `X-H${index}`,
          'v'.repeat(20),
        ])
      )
    )
    assertShape(assert, many, 431, 'E_REQUEST_HEADER_FIELDS_TOO_LARGE')

    for (const message of [
      head('GET /health/live HTTP/1.1', [['Bad Header', 'x']]),
      head('GET /health/live HTTP/1.1', [['X-Nul', 'a\u0000b']]),
      'GET /health/live HTTP/9.9\r\nHost: x',
      'NOT A REQUEST LINE',
      head('POST /api/v1/auth/signin HTTP/1.1', [
        ['Content-Length', '5'],
        ['Transfer-Encoding', 'chunked'],
      ]),
    ]) {
      const response = await rawExchange(message)
      assertShape(assert, response, 400, 'E_BAD_REQUEST')
    }
  })

  test('R7: a known path with another method answers 405 with Allow', async ({
    client,
    assert,
  }) => {
    const cases: Array<[string, string, string]> = [
      ['GET', '/api/v1/auth/email/verify?token=evt_abc', 'POST'],
      ['GET', '/api/v1/auth/signin', 'POST'],
      ['DELETE', '/api/v1/me', 'GET, HEAD, PATCH'],
      ['POST', '/health/live', 'GET, HEAD'],
      ['PUT', '/api/v1/me/sessions/12', 'DELETE'],
      ['GET', '/api/v1/admin/users/7/roles', 'PUT'],
    ]
    for (const [method, path, allow] of cases) {
      const response = await client.request(path, method as any)
      assert.equal(response.status(), 405, `${method} ${path}`)
      assert.equal(response.header('allow'), allow, `${method} ${path}`)
      assert.equal(response.body().errors[0].code, 'E_METHOD_NOT_ALLOWED')
    }
    // An unknown path, or an id the route does not take, is still 404.
    for (const path of ['/api/v1/nowhere', '/api/v1/me/sessions/abc']) {
      const response = await client.delete(path)
      response.assertStatus(404)
      response.assertBodyContains({ errors: [{ code: 'E_ROUTE_NOT_FOUND' }] })
    }
  })

  test('R7: lone surrogates are refused with 422 in every text field of the body', async ({
    client,
    assert,
  }) => {
    const { user, token } = await signedInUser(client, { roles: ['admin'], name: 'Ada' })
    for (const text of LONE_SURROGATES) {
      const cases: Array<[Promise<any>, string]> = [
        [client.patch('/api/v1/me').bearerToken(token).json({ name: text }), 'name'],
        [
          client
            .post('/api/v1/auth/signup')
            .json({ email: uniqueEmail(), password: `${text} long passphrase` }),
          'password',
        ],
        [
          client.post('/api/v1/auth/signin').json({ email: `${text}@example.com`, password: 'x' }),
          'email',
        ],
        [
          client
            .post('/api/v1/auth/signin')
            .json({ email: user.email, password: 'p', deviceName: text }),
          'deviceName',
        ],
        [client.post('/api/v1/auth/email/verify').json({ token: `evt_${text}` }), 'token'],
        [client.post('/api/v1/auth/password/forgot').json({ email: text }), 'email'],
        [
          client
            .put(`/api/v1/admin/users/${user.id}/roles`)
            .bearerToken(token)
            .json({ roles: ['admin', text] }),
          'roles.1',
        ],
        [
          client
            .patch('/api/v1/me')
            .bearerToken(token)
            .json({ name: 'Ok', extra: { deep: [text] } }),
          'extra.deep.0',
        ],
      ]
      for (const [request, field] of cases) await assertRefusedText(assert, await request, field)
    }
    const stored = await User.findOrFail(user.id)
    assert.equal(stored.name, 'Ada')
    assert.deepEqual(stored.roles, ['admin'])
  })

  test('R7: query parameters that do not decode to Unicode text are refused with 422', async ({
    client,
    assert,
  }) => {
    const { token } = await signedInUser(client, { roles: ['admin'] })
    for (const query of ['q=%ED%A0%80', 'q=%zz', 'q=%E0%A4', 'page=1&q=a%FFb']) {
      const response = await client.get(`/api/v1/admin/users?${query}`).bearerToken(token)
      await assertRefusedText(assert, response, 'q')
    }
  })

  test('R7: well-formed text outside the BMP is stored and read back exactly as accepted', async ({
    client,
    assert,
  }) => {
    const { token } = await signedInUser(client)
    const name = 'Zoë 😀 𝔘𝔫𝔦'
    const updated = await client.patch('/api/v1/me').bearerToken(token).json({ name })
    updated.assertStatus(200)
    assert.equal(updated.body().data.name, name)
    const read = await client.get('/api/v1/me').bearerToken(token)
    assert.equal(read.body().data.name, name)
  })
})
