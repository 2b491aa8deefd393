/*
|--------------------------------------------------------------------------
| The benchmark's server entry point (`npm run bench`)
|--------------------------------------------------------------------------
|
| bin/server.ts plus the benchmark's instrumentation (bench/instrumentation.ts:
| baseline routes and a query counter), registered before the router is
| committed. The shipped entry point, bin/server.ts, has none of it.
|
*/

import 'reflect-metadata'
import { Ignitor, prettyPrintError } from '@adonisjs/core'
import { createHttpServer } from '#start/http_server'

const APP_ROOT = new URL('../', import.meta.url)

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
    app.starting(async () => {
      await import('#bench/instrumentation')
    })
    app.listen('SIGTERM', () => app.terminate())
  })
  .httpServer()
  .start(createHttpServer)
  .catch((error) => {
    process.exitCode = 1
    prettyPrintError(error)
  })
