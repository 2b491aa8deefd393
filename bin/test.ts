/*
|--------------------------------------------------------------------------
| Test runner entrypoint (`npm test` → `node ace test`)
|--------------------------------------------------------------------------
|
| Tests run against real PostgreSQL: the server in DATABASE_URL when it is
| set (it will be migrated from scratch: point it at a scratch database),
| otherwise a fresh embedded PostgreSQL started here and removed after.
| Mail goes over SMTP to a real in-process SMTP server (tests/helpers/mailbox).
|
*/

// `node ace test` passes NODE_ENV=test; the R5 security test runs this file in production mode.
process.env.NODE_ENV ??= 'test'

import 'reflect-metadata'
import { randomBytes } from 'node:crypto'
import { Ignitor, prettyPrintError } from '@adonisjs/core'
import { configure, processCLIArgs, run } from '@japa/runner'
import {
  freePort,
  removeStaleTestClusters,
  startEmbeddedPostgres,
  type EmbeddedDatabase,
} from '#database/embedded_postgres'
import { mailbox } from '#tests/helpers/mailbox'

const APP_ROOT = new URL('../', import.meta.url)

const IMPORTER = (filePath: string) => {
  if (filePath.startsWith('./') || filePath.startsWith('../')) {
    return import(new URL(filePath, APP_ROOT).href)
  }
  return import(filePath)
}

let database: EmbeddedDatabase | undefined

async function prepareEnvironment() {
  process.env.APP_KEY ??= randomBytes(32).toString('base64url')
  process.env.HOST ??= '127.0.0.1'
  /**
   * A free port of our own: `node ace test` passes PORT=3333, which would
   * make two runs on one machine collide.
   */
  process.env.PORT = String(await freePort())
  process.env.FRONTEND_URL ??= 'https://app.tessera.test'
  if (!process.env.DATABASE_URL) {
    await removeStaleTestClusters(new URL('tmp/postgres-test', APP_ROOT).pathname)
    database = await startEmbeddedPostgres({
      directory: new URL(`tmp/postgres-test/${process.pid}`, APP_ROOT).pathname,
      database: 'tessera_test',
      fresh: true,
      fast: true,
    })
    process.env.DATABASE_URL = database.url
  }
  process.env.SMTP_HOST = '127.0.0.1'
  process.env.SMTP_PORT = String(await mailbox.start())
}

async function releaseEnvironment() {
  await mailbox.stop()
  await database?.stop()
}

await prepareEnvironment()

new Ignitor(APP_ROOT, { importer: IMPORTER })
  .tap((app) => {
    app.booting(async () => {
      await import('#start/env')
    })
    app.listen('SIGTERM', () => app.terminate())
    app.listenIf(app.managedByPm2, 'SIGINT', () => app.terminate())
  })
  .testRunner()
  .configure(async (app) => {
    const { runnerHooks, ...config } = await import('../tests/bootstrap.js')

    processCLIArgs(process.argv.splice(2))
    configure({
      ...app.rcFile.tests,
      ...config,
      ...{
        setup: runnerHooks.setup,
        teardown: runnerHooks.teardown,
      },
    })
  })
  .run(async (app) => {
    await run()
    await app.terminate()
    await releaseEnvironment()
    /**
     * `node ace test` runs this file with an IPC channel open; let go of it
     * so the process ends once the work is done.
     */
    process.channel?.unref()
    /**
     * Exit explicitly: embedded-postgres' exit hook would otherwise end the
     * process with code 0 on 'beforeExit', even when tests failed.
     */
    process.exit(process.exitCode ?? 0)
  })
  .catch(async (error) => {
    process.exitCode = 1
    prettyPrintError(error)
    await releaseEnvironment()
    process.exit(1)
  })
