import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { test } from '@japa/runner'
import app from '@adonisjs/core/services/app'
import hash from '@adonisjs/core/services/hash'
import { freePort } from '#database/embedded_postgres'
import FaultCluster from '#tests/faults/helpers/cluster'
import RedisServer from '#tests/faults/helpers/redis_server'
import ServiceProcess, { productionEnv } from '#tests/faults/helpers/service'
import { runAce } from '#tests/helpers/service_process'

/**
 * Two instances behind one PostgreSQL and one Redis (LIMITER_STORE=redis),
 * as DESIGN.md scales out: a rate limit, the session cap and a revocation
 * hold across them, because they live in the shared stores and not in
 * either process. Real processes, a real Redis, a real PostgreSQL.
 */

const PASSWORD = 'two instances passphrase'
const EMAIL_LIMIT = 4
const SESSION_LIMIT = 2

type Answer = { status: number; body: any }

async function call(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string } = {}
): Promise<Answer> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(options.body ? { 'content-type': 'application/json' } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: options.body ? JSON.stringify(options.body) : undefined,
  })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : null }
}

test.group('Faults | two instances, one PostgreSQL and one Redis', (group) => {
  let cluster: FaultCluster
  let redis: RedisServer
  let instances: ServiceProcess[]

  async function createUser() {
    const email = `pair-${randomBytes(4).toString('hex')}@example.com`
    await cluster.query(
      `insert into users (email, password, roles, email_verified_at, created_at, updated_at)
       values ($1, $2, '{user}', now(), now(), now())`,
      [email, await hash.make(PASSWORD)]
    )
    return email
  }

  group.setup(async () => {
    cluster = await FaultCluster.start(
      app.makePath('tmp', 'faults-postgres', `pair-${process.pid}`)
    )
    redis = new RedisServer(await freePort())
    await redis.start()
    const env = {
      ...productionEnv(cluster.url),
      LIMITER_STORE: 'redis',
      REDIS_URL: redis.url,
      SIGNIN_EMAIL_LIMIT: String(EMAIL_LIMIT),
      SESSION_LIMIT: String(SESSION_LIMIT),
    }
    await runAce(['migrate'], { ...env, HOST: '127.0.0.1', PORT: String(await freePort()) })
    instances = [
      new ServiceProcess(await freePort(), env),
      new ServiceProcess(await freePort(), env),
    ]
    await Promise.all(instances.map((instance) => instance.start(90_000)))
    return async () => {
      await Promise.all(instances.map((instance) => instance.stop()))
      await redis.stop()
      await cluster.destroy()
    }
  })

  test('a per-email sign-in limit counts attempts made on either instance', async ({ assert }) => {
    const email = await createUser()
    const statuses: number[] = []
    for (let attempt = 0; attempt < EMAIL_LIMIT + 2; attempt++) {
      const instance = instances[attempt % 2]
      const answer = await call(instance.url, 'POST', '/api/v1/auth/signin', {
        body: { email, password: 'a wrong passphrase' },
      })
      statuses.push(answer.status)
    }
    assert.deepEqual(statuses.slice(0, EMAIL_LIMIT), Array(EMAIL_LIMIT).fill(400))
    assert.deepEqual(statuses.slice(EMAIL_LIMIT), [429, 429])

    // the counts are in Redis, not in PostgreSQL's rate_limits table
    const client = new Redis(redis.url)
    try {
      const keys = await client.keys('*')
      assert.isAbove(keys.length, 0)
    } finally {
      client.disconnect()
    }
    const [rows] = await cluster.query<{ n: number }>('select count(*)::int as n from rate_limits')
    assert.equal(rows.n, 0)
  })

  test('the session cap holds across instances and the oldest session is gone on both', async ({
    assert,
  }) => {
    const email = await createUser()
    const tokens: string[] = []
    for (let index = 0; index <= SESSION_LIMIT; index++) {
      const answer = await call(instances[index % 2].url, 'POST', '/api/v1/auth/signin', {
        body: { email, password: PASSWORD },
      })
      assert.equal(answer.status, 200)
      tokens.push(answer.body.data.token)
    }
    for (const instance of instances) {
      const oldest = await call(instance.url, 'GET', '/api/v1/me', { token: tokens[0] })
      assert.equal(oldest.status, 401)
      const newest = await call(instance.url, 'GET', '/api/v1/me', { token: tokens.at(-1) })
      assert.equal(newest.status, 200)
      const sessions = await call(instance.url, 'GET', '/api/v1/me/sessions', {
        token: tokens.at(-1),
      })
      assert.lengthOf(sessions.body.data, SESSION_LIMIT)
    }
  })

  test('a sign-out on one instance is refused by the other on the next request', async ({
    assert,
  }) => {
    const email = await createUser()
    const signin = await call(instances[0].url, 'POST', '/api/v1/auth/signin', {
      body: { email, password: PASSWORD },
    })
    const token = signin.body.data.token
    const before = await call(instances[1].url, 'GET', '/api/v1/me', { token })
    assert.equal(before.status, 200)
    const signout = await call(instances[0].url, 'POST', '/api/v1/auth/signout', { token })
    assert.equal(signout.status, 204)
    const after = await call(instances[1].url, 'GET', '/api/v1/me', { token })
    assert.equal(after.status, 401)
  })
})
