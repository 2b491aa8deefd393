import { test } from '@japa/runner'

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
})
