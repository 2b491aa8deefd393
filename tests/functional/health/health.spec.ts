import { test } from '@japa/runner'
import settings from '#config/setting'
import { rawRequest } from '#tests/security/helpers/raw_http'

test.group('Health | probes', () => {
  test('live answers 200 while the process runs', async ({ client }) => {
    const response = await client.get('/health/live')
    response.assertStatus(200)
    response.assertBody({ data: { status: 'ok' } })
  })

  test('ready answers 200 when PostgreSQL answers', async ({ client }) => {
    const response = await client.get('/health/ready')
    response.assertStatus(200)
    response.assertBodyContains({ data: { status: 'ready', checks: { database: 'ok' } } })
  })

  test('keeps idle connections longer than a load balancer does (Keep-Alive timeout)', async ({
    assert,
  }) => {
    const response = await rawRequest('/health/live', {
      method: 'GET',
      headers: { connection: 'keep-alive' },
    })
    assert.equal(response.status, 200)
    assert.equal(
      response.headers['keep-alive'],
      `timeout=${settings.http.keepAliveTimeout}`,
      'the server must outlast a balancer idle timeout of 60 s'
    )
    assert.isAbove(settings.http.keepAliveTimeout, 60)
  })

  test("a client's X-Request-Id is not taken as the request id (only a trusted proxy's)", async ({
    assert,
  }) => {
    const chosen = 'oat_MQ.a-client-chosen-request-id'
    const response = await rawRequest('/health/live', {
      method: 'GET',
      headers: { 'x-request-id': chosen },
    })
    assert.equal(response.status, 200)
    assert.isString(response.headers['x-request-id'])
    assert.notEqual(response.headers['x-request-id'], chosen)
  })
})
