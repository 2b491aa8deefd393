/*
|--------------------------------------------------------------------------
| Ace entrypoint
|--------------------------------------------------------------------------
|
| Runs ace commands (`node ace …`): migrations, user:create, tokens:prune.
|
*/

import 'reflect-metadata'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Ignitor } from '@adonisjs/core'
import {
  configuredDatabaseUrl,
  embeddedClusterExists,
  startEmbeddedPostgres,
  type EmbeddedDatabase,
} from '#database/embedded_postgres'
import { ensureEnvFile } from './env_file.ts'
import { reportError } from './report_error.ts'
import { onStopSignal } from './signals.ts'

const APP_ROOT = new URL('../', import.meta.url)

const IMPORTER = (filePath: string) => {
  if (filePath.startsWith('./') || filePath.startsWith('../')) {
    return import(new URL(filePath, APP_ROOT).href)
  }
  return import(filePath)
}

const appRoot = fileURLToPath(APP_ROOT)
const command = process.argv[2] ?? ''

/**
 * Commands that work on the data. The app's own (user:create,
 * tokens:prune) also get pending migrations run first, so they work on a
 * fresh clone before the first `npm start`.
 */
const usesDatabase = /^(migration:|db:|repl$)/.test(command)
const appCommand = /^(user:|tokens:)/.test(command)

function say(message: string) {
  process.stderr.write(`[tessera] ${message}\n`)
}

function migrate(env: NodeJS.ProcessEnv) {
  return new Promise<void>((done, fail) => {
    const child = spawn(process.execPath, ['ace.js', 'migrate'], {
      cwd: appRoot,
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    child.on('error', fail)
    child.on('exit', (code) =>
      code === 0 ? done() : fail(new Error(`running pending migrations failed (exit ${code})`))
    )
  })
}

let database: EmbeddedDatabase | undefined

try {
  /**
   * `node ace test` never gets a database from here: bin/test.ts makes its
   * own (F9). `node ace build` compiles, it runs nothing: it must not write
   * a secret into whatever it builds in (an image's build stage). Other
   * commands get `.env` on a fresh clone, as `npm start`.
   */
  if (command !== 'test' && command !== 'build') {
    const created = await ensureEnvFile(appRoot)
    if (created) say(`created ${created} with a fresh APP_KEY`)
  }

  /**
   * With no DATABASE_URL, commands work on the embedded PostgreSQL that
   * `npm start` uses (attaching to it when it runs, starting it for the
   * command otherwise, creating it on a fresh clone), so `node ace
   * user:create` reaches the same data.
   */
  if ((usesDatabase || appCommand) && !(await configuredDatabaseUrl(appRoot))) {
    const directory = fileURLToPath(
      new URL(process.env.EMBEDDED_PG_DIR ?? 'tmp/postgres', APP_ROOT)
    )
    const existed = await embeddedClusterExists(directory)
    database = await startEmbeddedPostgres({ directory, database: 'tessera' })
    onStopSignal(() => database?.stop())
    if (!existed) say(`created the embedded PostgreSQL (data in ${database.directory})`)
    process.env.DATABASE_URL = database.url
    if (appCommand) await migrate(process.env)
  }

  await new Ignitor(APP_ROOT, { importer: IMPORTER })
    .tap((app) => {
      app.booting(async () => {
        await import('#start/env')
      })
      if (!database) {
        app.listen('SIGTERM', () => app.terminate())
        app.listenIf(app.managedByPm2, 'SIGINT', () => app.terminate())
      }
    })
    .ace()
    .configure(async (app) => {
      /**
       * Ace's own errors (unknown command, missing flag) keep its output;
       * anything else — a boot that fails on a setting, a command's error —
       * is one line, without the framework's code frame and stack.
       */
      const ace = await app.container.make('ace')
      const stock = ace.errorHandler
      const aceCodes: string[] = (stock as any).internalKnownErrorCode ?? []
      ace.errorHandler = Object.assign(Object.create(stock), {
        async render(error: any, kernel: typeof ace) {
          if (aceCodes.includes(error?.code)) {
            return stock.render(error, kernel)
          }
          reportError(error)
        },
      })
    })
    .handle(process.argv.splice(2))
} catch (error) {
  process.exitCode = 1
  reportError(error)
}

if (database) {
  await database.stop()
  process.exit(process.exitCode ?? 0)
}
