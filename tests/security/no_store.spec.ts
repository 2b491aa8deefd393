import { test } from '@japa/runner'
import { createUser, PASSWORD, resetRateLimits, signedInUser } from '#tests/helpers/accounts'
import { rawExchange, rawRequest, head } from '#tests/security/helpers/raw_http'
import { issuedValue } from '#tests/helpers/tokens'

/**
 * SECURITY.md R8: every response carrying a token or a user has
 * `Cache-Control: no-store` (RFC 6749 §5.1). The service sends it on every
 * response, errors included, so no route can forget it.
 */
test.group('Security | R8 secrets are not cached', (group) => {
  group.each.setup(() => resetRateLimits())

  test('R8: responses with a token or a user say Cache-Control: no-store', async ({
    client,
    assert,
  }) => {
    const { user, token } = await signedInUser(client, { roles: ['admin'] })
    const pending = await createUser({ verified: false })
    const responses = {
      'signin': await client
        .post('/api/v1/auth/signin')
        .json({ email: user.email, password: PASSWORD }),
      'me': await client.get('/api/v1/me').bearerToken(token),
      'me update': await client.patch('/api/v1/me').bearerToken(token).json({ name: 'Ada' }),
      'sessions': await client.get('/api/v1/me/sessions').bearerToken(token),
      'verify': await client
        .post('/api/v1/auth/email/verify')
        .json({ token: await issuedValue(pending, 'email_verification') }),
      'admin users': await client.get('/api/v1/admin/users').bearerToken(token),
      'admin roles': await client
        .put(`/api/v1/admin/users/${pending.id}/roles`)
        .bearerToken(token)
        .json({ roles: ['user'] }),
    }
    for (const [name, response] of Object.entries(responses)) {
      assert.equal(response.status() < 300, true, name)
      assert.equal(response.header('cache-control'), 'no-store', name)
    }
  })

  test('R8: errors, health checks and answers below the framework say no-store too', async ({
    client,
    assert,
  }) => {
    const answers = await Promise.all([
      client.get('/api/v1/me'),
      client.get('/api/v1/nowhere'),
      client.post('/api/v1/auth/signin').json({}),
      client.get('/health/live'),
    ])
    for (const answer of answers) assert.equal(answer.header('cache-control'), 'no-store')

    const badUrl = await rawRequest('/api/v1/%zz', { method: 'GET' })
    const oversized = await rawExchange(
      head('GET /api/v1/me HTTP/1.1', [['X-Pad', 'a'.repeat(100_000)]])
    )
    for (const raw of [badUrl, oversized]) {
      assert.isAbove(raw.status, 399)
      assert.equal(raw.headers['cache-control'], 'no-store')
    }
  })
})
