import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { test } from '@japa/runner'
import app from '@adonisjs/core/services/app'
import { freePort, spawnService } from '#tests/helpers/service_process'

test.group('Errors | database unreachable', (group) => {
  let service: Awaited<ReturnType<typeof spawnService>>

  /**
   * A production-mode server whose DATABASE_URL points at a port nothing
   * listens on: a real connection failure, not a mocked one.
   */
  group.setup(async () => {
    const mailDir = await mkdtemp(join(app.makePath('tmp'), 'mail-'))
    service = await spawnService('bin/server.ts', {
      NODE_ENV: 'production',
      APP_KEY: randomBytes(32).toString('base64url'),
      DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/tessera`,
      MAIL_DIR: mailDir,
      LOG_LEVEL: 'warn',
    })
    await service.waitFor('/health/live', 200, 30_000)
    return async () => {
      await service.stop()
      await rm(mailDir, { recursive: true, force: true })
    }
  })

  test('ready answers 503 with Retry-After while live stays 200', async ({ assert }) => {
    const ready = await fetch(`${service.url}/health/ready`)
    assert.equal(ready.status, 503)
    assert.equal(ready.headers.get('retry-after'), '5')
    const body = (await ready.json()) as { errors: Array<{ code: string }> }
    assert.equal(body.errors[0].code, 'E_SERVICE_UNAVAILABLE')
    const live = await fetch(`${service.url}/health/live`)
    assert.equal(live.status, 200)
  })

  test('a route that needs the database answers 503 E_SERVICE_UNAVAILABLE, not 500', async ({
    assert,
  }) => {
    const response = await fetch(`${service.url}/api/v1/auth/password/forgot`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'someone@example.com' }),
    })
    assert.equal(response.status, 503)
    assert.isAtLeast(Number(response.headers.get('retry-after')), 1)
    const text = await response.text()
    assert.deepEqual(JSON.parse(text), {
      errors: [
        {
          code: 'E_SERVICE_UNAVAILABLE',
          message: 'The service is temporarily unavailable, try again shortly',
        },
      ],
    })
    assert.notMatch(text, /ECONNREFUSED|select|at \w+ \(/i)
  })

  test('a malformed Bearer token is still refused with 401 without touching the database', async ({
    assert,
  }) => {
    const response = await fetch(`${service.url}/api/v1/me`, {
      headers: { authorization: 'Bearer oat_bm90LWEtdG9rZW4.garbage' },
    })
    assert.equal(response.status, 401)
  })
})
