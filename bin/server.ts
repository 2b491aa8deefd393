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
import { fileURLToPath } from 'node:url'
import { Ignitor } from '@adonisjs/core'
import { createHttpServer } from '#start/http_server'
import { reportError } from './report_error.ts'

const APP_ROOT = new URL('../', import.meta.url)

/**
 * Compiled and started from a checkout, as the README's process-manager
 * recipe does (`node build/bin/server.js`, where `build` points into
 * tmp/builds): the settings are in the checkout's `.env` (the folder with
 * `adonisrc.ts`, a source file no build has), not next to the compiled
 * app. An image, where the build is the app's root, has no checkout above
 * it and reads the process environment alone.
 */
if (process.env.ENV_PATH === undefined && !existsSync(new URL('.env', APP_ROOT))) {
  for (const up of ['../', '../../', '../../../']) {
    const root = new URL(up, APP_ROOT)
    if (existsSync(new URL('adonisrc.ts', root))) {
      if (existsSync(new URL('.env', root))) process.env.ENV_PATH = fileURLToPath(root)
      break
    }
  }
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
    reportError(error)
    process.exit(1)
  })
