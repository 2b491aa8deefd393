import { readdirSync } from 'node:fs'
import { test } from '@japa/runner'
import app from '@adonisjs/core/services/app'
import { freePort } from '#database/embedded_postgres'
import FaultCluster from '#tests/faults/helpers/cluster'
import ServiceProcess, { productionEnv } from '#tests/faults/helpers/service'
import { runAce } from '#tests/helpers/service_process'

/**
 * SECURITY.md F7: instances started together all serve. Migrations run
 * once, serialised (`node ace migrate`); a process that finds another
 * migrating waits, then goes on; a running instance keeps serving while
 * another starts beside it. Real processes on a real PostgreSQL.
 */

const MIGRATIONS = readdirSync(app.makePath('database', 'migrations')).filter((name) =>
  /\.(ts|js)$/.test(name)
).length

test.group('Faults | instances started together', (group) => {
  let cluster: FaultCluster
  let env: Record<string, string>

  group.setup(async () => {
    cluster = await FaultCluster.start(
      app.makePath('tmp', 'faults-postgres', `startup-${process.pid}`)
    )
    env = { ...productionEnv(cluster.url), HOST: '127.0.0.1' }
    return () => cluster.destroy()
  })

  test('F7: three migrate runs at once on an empty database all succeed and migrate once', async ({
    assert,
  }) => {
    const runs = await Promise.allSettled(
      [0, 1, 2].map(async () => runAce(['migrate'], { ...env, PORT: String(await freePort()) }))
    )
    for (const run of runs) {
      assert.equal(run.status, 'fulfilled', run.status === 'rejected' ? String(run.reason) : '')
    }
    const outputs = runs.map((run) => (run.status === 'fulfilled' ? run.value : ''))
    assert.lengthOf(
      outputs.filter((output) => output.includes(`Ran ${MIGRATIONS} migration(s)`)),
      1,
      outputs.join('\n---\n')
    )
    assert.lengthOf(
      outputs.filter((output) => output.includes('Already up to date')),
      2,
      outputs.join('\n---\n')
    )
    const rows = await cluster.query<{ name: string }>('select name from adonis_schema')
    assert.lengthOf(rows, MIGRATIONS)
    assert.lengthOf(new Set(rows.map((row) => row.name)), MIGRATIONS)
    const locks = await cluster.query(`select 1 from pg_locks where locktype = 'advisory'`)
    assert.lengthOf(locks, 0, 'a migration lock was left behind')
  }).timeout(120_000)

  test('F7: three instances started at once all serve, and one running survives another starting', async ({
    assert,
  }) => {
    const services = await Promise.all(
      [0, 1, 2].map(async () => new ServiceProcess(await freePort(), env))
    )
    try {
      await Promise.all(services.map((service) => service.start(90_000)))
      for (const service of services) {
        const ready = await fetch(`${service.url}/health/ready`)
        assert.equal(ready.status, 200)
      }

      // A fourth starts (migrating first, as a deploy does) while the first keeps answering.
      const probes: number[] = []
      let probing = true
      const probe = (async () => {
        while (probing) {
          const response = await fetch(`${services[0].url}/health/ready`).catch(() => null)
          probes.push(response?.status ?? 0)
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      })()
      const fourth = new ServiceProcess(await freePort(), env)
      services.push(fourth)
      await runAce(['migrate'], { ...env, PORT: String(fourth.port) })
      await fourth.start(90_000)
      probing = false
      await probe
      assert.isAbove(probes.length, 0)
      assert.deepEqual([...new Set(probes)], [200])
    } finally {
      await Promise.all(services.map((service) => service.stop()))
    }
  }).timeout(180_000)
})
