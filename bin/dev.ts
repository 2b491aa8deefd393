/*
|--------------------------------------------------------------------------
| `npm run dev`
|--------------------------------------------------------------------------
|
| The development server with hot module reloading (`node ace serve
| --hmr`, hot-hook; boundaries in package.json → hotHook) on the same
| database as `npm start`: creates `.env` when missing, starts the embedded
| PostgreSQL when there is no DATABASE_URL, runs pending migrations, and
| stops the dev server and then the database on any stop signal.
|
*/

import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { EmbeddedDatabase } from '../database/embedded_postgres.ts'
import { prepareLocalRun, runStep, StepFailed } from './local_run.ts'
import { reportError } from './report_error.ts'
import { onOrphaned, onStopSignal } from './signals.ts'

const appRoot = fileURLToPath(new URL('../', import.meta.url))

let database: EmbeddedDatabase | undefined
let devServer: ChildProcess | undefined

/**
 * Signals the dev server's process group: `ace serve` and the HTTP server
 * it runs (`ace serve` alone ignores SIGTERM and would leave it behind).
 */
function signalDevServer(signal: NodeJS.Signals) {
  try {
    process.kill(-devServer!.pid!, signal)
  } catch {}
}

/**
 * Stops the dev server and its HTTP server, then the database.
 */
async function stopEverything() {
  if (devServer && devServer.exitCode === null && devServer.signalCode === null) {
    const exited = new Promise((done) => devServer!.once('exit', done))
    signalDevServer('SIGTERM')
    const timer = setTimeout(() => signalDevServer('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
  }
  signalDevServer('SIGKILL')
  await database?.stop()
}

onStopSignal(stopEverything)
onOrphaned(stopEverything)

try {
  const local = await prepareLocalRun(appRoot)
  database = local.database
  const env = local.env

  await runStep(appRoot, 'running migrations', ['ace.js', 'migrate'], env)

  /**
   * In a process group of its own, so that stopping reaches the HTTP
   * server too; without a terminal on stdin (a background group reading
   * the terminal would be stopped), so no keyboard shortcuts.
   */
  devServer = spawn(process.execPath, ['ace.js', 'serve', '--hmr'], {
    cwd: appRoot,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  })
  devServer.on('exit', async (exitCode, signal) => {
    await database?.stop()
    process.exit(exitCode ?? (signal ? 1 : 0))
  })
} catch (error) {
  if (!(error instanceof StepFailed)) reportError(error)
  await stopEverything()
  process.exit(1)
}
