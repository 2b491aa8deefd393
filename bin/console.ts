/*
|--------------------------------------------------------------------------
| Ace entrypoint
|--------------------------------------------------------------------------
|
| Runs ace commands (`node ace …`): migrations, user:create, tokens:prune.
|
*/

import 'reflect-metadata'
import { fileURLToPath } from 'node:url'
import { Ignitor, prettyPrintError } from '@adonisjs/core'
import {
  configuredDatabaseUrl,
  embeddedClusterExists,
  startEmbeddedPostgres,
  type EmbeddedDatabase,
} from '#database/embedded_postgres'

const APP_ROOT = new URL('../', import.meta.url)

const IMPORTER = (filePath: string) => {
  if (filePath.startsWith('./') || filePath.startsWith('../')) {
    return import(new URL(filePath, APP_ROOT).href)
  }
  return import(filePath)
}

/**
 * With no DATABASE_URL, commands work on the embedded PostgreSQL that
 * `npm start` created (attaching to it when it runs, starting it for the
 * command otherwise), so `node ace user:create` reaches the same data.
 */
let database: EmbeddedDatabase | undefined
const embeddedDir = fileURLToPath(new URL(process.env.EMBEDDED_PG_DIR ?? 'tmp/postgres', APP_ROOT))
const appRoot = fileURLToPath(APP_ROOT)
if (!(await configuredDatabaseUrl(appRoot)) && (await embeddedClusterExists(embeddedDir))) {
  database = await startEmbeddedPostgres({ directory: embeddedDir, database: 'tessera' })
  process.env.DATABASE_URL = database.url
}

await new Ignitor(APP_ROOT, { importer: IMPORTER })
  .tap((app) => {
    app.booting(async () => {
      await import('#start/env')
    })
    app.listen('SIGTERM', () => app.terminate())
    app.listenIf(app.managedByPm2, 'SIGINT', () => app.terminate())
  })
  .ace()
  .handle(process.argv.splice(2))
  .catch((error) => {
    process.exitCode = 1
    prettyPrintError(error)
  })

if (database) {
  await database.stop()
  /**
   * Exit explicitly: embedded-postgres' exit hook would otherwise end the
   * process with code 0, hiding a failed command's exit code.
   */
  process.exit(process.exitCode ?? 0)
}
