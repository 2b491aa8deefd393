/*
|--------------------------------------------------------------------------
| Test runner entrypoint (`npm test` → `node ace test`)
|--------------------------------------------------------------------------
|
| Tests run against real PostgreSQL, always in a database this process
| creates and drops (F9): beside the configured one when DATABASE_URL is set
| (process environment or .env), otherwise in a fresh embedded PostgreSQL
| started here and removed after. Whatever `npm start` uses is never opened:
| tests/bootstrap.ts refuses to migrate a database this run did not create.
| Mail goes over SMTP to a real in-process SMTP server (tests/helpers/mailbox).
|
| Logs are silent unless LOG_LEVEL is set in the process environment (the
| one in .env is for `npm start`).
|
*/

// `node ace test` passes NODE_ENV=test; the R5 security test runs this file in production mode.
process.env.NODE_ENV ??= 'test'

import 'reflect-metadata'
import { randomBytes } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { Ignitor } from '@adonisjs/core'
import { configure, processCLIArgs, run } from '@japa/runner'
import {
  configuredDatabaseUrl,
  createScratchDatabase,
  freePort,
  removeStaleTestClusters,
  startEmbeddedPostgres,
  type EmbeddedDatabase,
  type ScratchDatabase,
} from '#database/embedded_postgres'
import { mailbox } from '#tests/helpers/mailbox'
import { reportError } from './report_error.ts'
import { onStopSignal } from './signals.ts'

const APP_ROOT = new URL('../', import.meta.url)

const IMPORTER = (filePath: string) => {
  if (filePath.startsWith('./') || filePath.startsWith('../')) {
    return import(new URL(filePath, APP_ROOT).href)
  }
  return import(filePath)
}

let cluster: EmbeddedDatabase | undefined
let database: ScratchDatabase | undefined

async function prepareEnvironment() {
  process.env.LOG_LEVEL ??= 'silent'
  process.env.APP_KEY ??= randomBytes(32).toString('base64url')
  process.env.HOST ??= '127.0.0.1'
  /**
   * A free port of our own: `node ace test` passes PORT=3333, which would
   * make two runs on one machine collide.
   */
  process.env.PORT = String(await freePort())
  process.env.FRONTEND_URL ??= 'https://app.tessera.test'
  // tests keep their files under tmp/, absent on a fresh clone (the
  // embedded cluster may live elsewhere, see database/embedded_postgres.ts)
  await mkdir(new URL('tmp', APP_ROOT), { recursive: true })
  const configured = await configuredDatabaseUrl(fileURLToPath(APP_ROOT))
  if (!configured) {
    await removeStaleTestClusters(new URL('tmp/postgres-test', APP_ROOT).pathname)
    cluster = await startEmbeddedPostgres({
      directory: new URL(`tmp/postgres-test/${process.pid}`, APP_ROOT).pathname,
      database: 'postgres',
      fresh: true,
      fast: true,
    })
  }
  database = await createScratchDatabase(configured ?? cluster!.url)
  process.env.DATABASE_URL = database.url
  process.env.TESSERA_TEST_DATABASE_MARK = database.mark
  process.env.SMTP_HOST = '127.0.0.1'
  process.env.SMTP_PORT = String(await mailbox.start())
}

async function releaseEnvironment() {
  await mailbox.stop()
  await database?.drop().catch(() => {})
  await cluster?.stop()
}

onStopSignal(releaseEnvironment)
await prepareEnvironment().catch(async (error) => {
  reportError(error)
  await releaseEnvironment()
  process.exit(1)
})

new Ignitor(APP_ROOT, { importer: IMPORTER })
  .tap((app) => {
    app.booting(async () => {
      await import('#start/env')
    })
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
    process.exit(process.exitCode ?? 0)
  })
  .catch(async (error) => {
    process.exitCode = 1
    reportError(error)
    await releaseEnvironment()
    process.exit(1)
  })
