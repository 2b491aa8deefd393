import { randomBytes } from 'node:crypto'
import { createServer, type Socket } from 'node:net'
import { test } from '@japa/runner'
import app from '@adonisjs/core/services/app'
import hash from '@adonisjs/core/services/hash'
import { freePort } from '#database/embedded_postgres'
import FaultCluster from '#tests/faults/helpers/cluster'
import ServiceProcess, { productionEnv } from '#tests/faults/helpers/service'
import { sleep } from '#tests/faults/helpers/processes'
import { runAce } from '#tests/helpers/service_process'

/**
 * SECURITY.md F6, the stop: SIGTERM first turns readiness to 503 (the
 * drain window, while requests are still served), finishes what is in
 * flight, then exits within the deadline. The service runs as a real
 * process on a real PostgreSQL; a row lock holds a sign-in in flight
 * across the signal.
 */

const DRAIN_MS = 2000
const DEADLINE_MS = 8000
const PASSWORD = 'a drained passphrase'

test.group('Faults | graceful stop', (group) => {
  let cluster: FaultCluster
  let env: Record<string, string>

  group.setup(async () => {
    cluster = await FaultCluster.start(
      app.makePath('tmp', 'faults-postgres', `stop-${process.pid}`)
    )
    env = {
      ...productionEnv(cluster.url),
      LOG_LEVEL: 'info',
      SHUTDOWN_DRAIN_WINDOW: `${DRAIN_MS / 1000}s`,
      SHUTDOWN_DEADLINE: `${DEADLINE_MS / 1000}s`,
    }
    await runAce(['migration:run', '--force', '--no-schema-generate', '--compact-output'], {
      ...env,
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
    })
    return () => cluster.destroy()
  })

  test('F6: SIGTERM drains: readiness 503 first, the request in flight finishes, exit within the deadline', async ({
    assert,
  }) => {
    const email = `drain-${randomBytes(4).toString('hex')}@example.com`
    const [user] = await cluster.query<{ id: string }>(
      `insert into users (email, password, roles, email_verified_at, created_at, updated_at)
       values ($1, $2, '{user}', now(), now(), now()) returning id`,
      [email, await hash.make(PASSWORD)]
    )
    const service = new ServiceProcess(
      await freePort(),
      env,
      app.makePath('tmp', 'faults-logs', 'graceful-stop.log')
    )
    await service.start()
    const signin = () =>
      fetch(`${service.url}/api/v1/auth/signin`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: PASSWORD }),
      })
    const first = await signin()
    assert.equal(first.status, 200)
    const token = ((await first.json()) as { data: { token: string } }).data.token

    // A sign-in held in flight: its token insert waits on a lock of the user's row.
    const locker = await cluster.connect()
    await locker.query('begin')
    await locker.query('select id from users where id = $1 for update', [user.id])
    const held = signin()
    const waitDeadline = Date.now() + 5000
    let waiting = 0
    while (waiting === 0 && Date.now() < waitDeadline) {
      const [row] = await cluster.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity
          where wait_event_type = 'Lock' and pid <> pg_backend_pid()`
      )
      waiting = row.n
      if (waiting === 0) await sleep(20)
    }
    assert.isAbove(waiting, 0, 'the sign-in never waited on the lock')

    const signalled = Date.now()
    process.kill(service.pid!, 'SIGTERM')
    await sleep(200)

    // Draining: not ready, still alive, still serving, and asking clients to go.
    const ready = await fetch(`${service.url}/health/ready`)
    assert.equal(ready.status, 503)
    const live = await fetch(`${service.url}/health/live`)
    assert.equal(live.status, 200)
    const me = await fetch(`${service.url}/api/v1/me`, {
      headers: { authorization: `Bearer ${token}` },
    })
    assert.equal(me.status, 200)
    assert.equal(me.headers.get('connection'), 'close')

    // The request in flight finishes with its answer once the lock goes.
    await sleep(500)
    await locker.query('commit')
    await locker.end()
    const finished = await held
    assert.equal(finished.status, 200)
    // begun before the signal, it still asks its client to go: an idle
    // keep-alive connection would hold the stop up until the deadline
    assert.equal(finished.headers.get('connection'), 'close')

    while (service.running && Date.now() - signalled < DEADLINE_MS + 2000) await sleep(50)
    const stoppedAfter = Date.now() - signalled
    assert.isFalse(service.running, 'the process did not exit')
    assert.isAtLeast(stoppedAfter, DRAIN_MS - 100, 'it stopped before the drain window ended')
    assert.isBelow(stoppedAfter, DEADLINE_MS, 'it needed the deadline to stop')
    assert.isTrue(
      service.logs.some((entry) => entry.msg === 'draining before shutdown'),
      'no drain log line'
    )
    assert.isFalse(
      service.logs.some((entry) => entry.msg === 'shutdown deadline passed, exiting'),
      'the deadline forced the exit'
    )
    await service.stop()
  }).timeout(60_000)

  test('F6: a mail job stuck on an SMTP server that stopped answering does not hold the stop up', async ({
    assert,
  }) => {
    /**
     * An SMTP server that accepts connections and then says nothing, not
     * even to the client's FIN: the mail transport's socket stays
     * half-closed, as with a hung relay or a network black hole.
     */
    const sockets: Socket[] = []
    const silent = createServer({ allowHalfOpen: true }, (socket) => sockets.push(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const smtpPort = (silent.address() as { port: number }).port
    const service = new ServiceProcess(await freePort(), {
      ...env,
      MAIL_DIR: '',
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(smtpPort),
      SHUTDOWN_DRAIN_WINDOW: '0s',
    })
    try {
      await service.start()
      const signup = await fetch(`${service.url}/api/v1/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          email: `stuck-${randomBytes(4).toString('hex')}@example.com`,
          password: PASSWORD,
        }),
      })
      assert.equal(signup.status, 202)
      const connected = Date.now() + 5000
      while (sockets.length === 0 && Date.now() < connected) await sleep(20)
      assert.isAbove(sockets.length, 0, 'the job never reached the SMTP server')

      const signalled = Date.now()
      process.kill(service.pid!, 'SIGTERM')
      while (service.running && Date.now() - signalled < DEADLINE_MS + 2000) await sleep(50)
      assert.isFalse(service.running, 'the process did not exit')
      assert.isFalse(
        service.logs.some((entry) => entry.msg === 'shutdown deadline passed, exiting'),
        'the deadline forced the exit'
      )
      assert.isBelow(Date.now() - signalled, DEADLINE_MS, 'it needed the deadline to stop')
    } finally {
      await service.stop()
      sockets.forEach((socket) => socket.destroy())
      await new Promise((resolve) => silent.close(resolve))
    }
  }).timeout(60_000)

  test('every request writes one access-log line: route pattern, status, time, never a token', async ({
    assert,
  }) => {
    const service = new ServiceProcess(await freePort(), env)
    await service.start()
    const response = await fetch(`${service.url}/api/v1/auth/signin`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'nobody@example.com', password: PASSWORD }),
    })
    assert.equal(response.status, 400)
    const bearer = 'oat_MQ.c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1iZS1sb2dnZWQ'
    await fetch(`${service.url}/api/v1/me/sessions/42?token=${bearer}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${bearer}` },
    })
    await service.stop()

    const lines = service.logs.filter((entry) => entry.msg === 'request')
    const signin = lines.find((entry) => entry.route === '/api/v1/auth/signin')
    assert.exists(signin, 'no access-log line for the sign-in')
    assert.include(signin!, { method: 'POST', status: 400 })
    assert.isNumber(signin!.ms)
    assert.isString(signin!.requestId)
    const revoke = lines.find((entry) => entry.route === '/api/v1/me/sessions/:id')
    assert.include(revoke!, { method: 'DELETE', status: 401 })
    const everything = [...service.text, ...service.logs.map((entry) => JSON.stringify(entry))]
    for (const line of everything) {
      assert.notInclude(line, bearer)
      assert.notInclude(line, PASSWORD)
    }
  }).timeout(60_000)
})
