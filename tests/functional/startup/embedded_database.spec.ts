import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { test } from '@japa/runner'
import app from '@adonisjs/core/services/app'
import { spawnService } from '#tests/helpers/service_process'

test.group('Startup | no database configured', () => {
  test('npm start boots an embedded PostgreSQL, migrates it and serves /health/ready', async ({
    assert,
    cleanup,
  }) => {
    const workDir = await mkdtemp(join(app.makePath('tmp'), 'start-'))
    cleanup(() => rm(workDir, { recursive: true, force: true }))

    /**
     * A clean environment: no DATABASE_URL, no .env (ENV_PATH points at an
     * empty folder), as on a fresh checkout.
     */
    const service = await spawnService('bin/start.ts', {
      ENV_PATH: workDir,
      EMBEDDED_PG_DIR: join(workDir, 'postgres'),
      LOG_LEVEL: 'warn',
    })
    cleanup(() => service.stop())

    const ready = await service.waitFor('/health/ready', 200, 90_000)
    assert.deepEqual(await ready.json(), { data: { status: 'ready', checks: { database: 'ok' } } })

    const envFile = await readFile(join(workDir, '.env'), 'utf8')
    assert.match(envFile, /^APP_KEY=[\w-]{32,}$/m)

    /**
     * The data folder is the one asked for, or (running as root under a
     * folder other users cannot enter, like mkdtemp's) one under the OS
     * temp folder; either way it holds a real cluster, and no connection
     * string with its password is printed.
     */
    const dataDir = service.output().match(/\(data in (.+)\)/)?.[1]
    assert.isDefined(dataDir)
    const owned = dirname(dataDir!).startsWith(join(tmpdir(), 'tessera-'))
      ? dirname(dataDir!)
      : dataDir!
    cleanup(() => rm(owned, { recursive: true, force: true }))
    assert.isTrue(existsSync(join(dataDir!, 'data', 'PG_VERSION')))
    assert.notInclude(service.output(), 'postgres://')

    await service.stop()
    assert.equal(await service.exited, 0)
  }).timeout(120_000)
})
