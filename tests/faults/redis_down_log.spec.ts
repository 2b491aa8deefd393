import { test } from '@japa/runner'
import app from '@adonisjs/core/services/app'
import { freePort } from '#database/embedded_postgres'
import FaultCluster from '#tests/faults/helpers/cluster'
import ServiceProcess, { productionEnv } from '#tests/faults/helpers/service'
import { sleep } from '#tests/faults/helpers/processes'
import { runAce } from '#tests/helpers/service_process'

/**
 * A Redis limiter store that is down: readiness says `degraded`, the
 * counted routes fail closed, and the log says so once in a while at
 * level warn — not one `fatal` line with a stack per reconnect attempt.
 */
test.group('Faults | Redis down, the log', (group) => {
  let cluster: FaultCluster

  group.setup(async () => {
    cluster = await FaultCluster.start(
      app.makePath('tmp', 'faults-postgres', `redis-log-${process.pid}`)
    )
    return () => cluster.destroy()
  })

  test('F3: a Redis that is down is a throttled warning, never a fatal line', async ({
    assert,
  }) => {
    const env = {
      ...productionEnv(cluster.url),
      LOG_LEVEL: 'info',
      LIMITER_STORE: 'redis',
      // nothing listens there
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    }
    await runAce(['migrate'], { ...env, PORT: String(await freePort()) })
    const service = new ServiceProcess(await freePort(), env)
    await service.start()

    const ready = await fetch(`${service.url}/health/ready`)
    assert.equal(ready.status, 200)
    assert.deepEqual(((await ready.json()) as any).data.checks.limiterStore, 'down')
    // several reconnect attempts (200 ms, 400 ms, … apart)
    await sleep(4000)
    await service.stop()

    assert.deepEqual(
      service.logs.filter((entry) => Number(entry.level) >= 60).map((entry) => entry.msg),
      [],
      'fatal log lines'
    )
    const warnings = service.logs.filter(
      (entry) => entry.msg === 'Redis unavailable, will try again'
    )
    assert.lengthOf(warnings, 1)
    assert.notProperty((warnings[0] as any).err, 'stack')
  }).timeout(60_000)
})
