/*
|--------------------------------------------------------------------------
| HTTP server entrypoint
|--------------------------------------------------------------------------
|
| Boots the app and starts the HTTP server. `npm start` runs it through
| bin/start.ts, which first makes sure a database exists and is migrated.
|
*/

import 'reflect-metadata'
import { existsSync } from 'node:fs'
import { Ignitor, prettyPrintError } from '@adonisjs/core'
import { createHttpServer } from '#start/http_server'

const APP_ROOT = new URL('../', import.meta.url)

/**
 * Compiled (`build/bin/server.js`) and started from a checkout, as the
 * README's process-manager recipe does: the settings are in the project's
 * `.env`, one folder up from the compiled app, not in `build/.env`. An
 * image (where the build is the app's root) has no such file and reads
 * the process environment alone.
 */
if (
  process.env.ENV_PATH === undefined &&
  APP_ROOT.pathname.endsWith('/build/') &&
  existsSync(new URL('../.env', APP_ROOT))
) {
  process.env.ENV_PATH = '..'
}

const IMPORTER = (filePath: string) => {
  if (filePath.startsWith('./') || filePath.startsWith('../')) {
    return import(new URL(filePath, APP_ROOT).href)
  }
  return import(filePath)
}

new Ignitor(APP_ROOT, { importer: IMPORTER })
  .tap((app) => {
    app.booting(async () => {
      await import('#start/env')
    })
    /**
     * A stop drains first (app/services/lifecycle.ts): readiness 503, the
     * requests in flight finished, then exit within a deadline.
     */
    const stop = async () => {
      const { default: lifecycle } = await import('#services/lifecycle')
      await lifecycle.stop(app)
    }
    app.listen('SIGTERM', stop)
    app.listen('SIGINT', stop)
  })
  .httpServer()
  .start(createHttpServer)
  .catch((error) => {
    process.exitCode = 1
    prettyPrintError(error)
  })
