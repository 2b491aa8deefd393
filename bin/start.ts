/*
|--------------------------------------------------------------------------
| `npm start`
|--------------------------------------------------------------------------
|
| One command from a fresh checkout to a running service:
|   1. creates `.env` from `.env.example` with a fresh APP_KEY when missing;
|   2. with no DATABASE_URL, starts the embedded PostgreSQL (tmp/postgres);
|   3. runs pending migrations (`node ace migrate`: one process at a time);
|   4. compiles the app when a source changed (node ace build, into a new
|      folder under tmp/builds that `build` then points at);
|   5. starts the HTTP server from that build and stops the database when
|      the server exits.
|
| A stop signal (Ctrl-C, `kill`, a closed terminal) stops the server and
| then the database: nothing this process started outlives it.
|
*/

import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { EmbeddedDatabase } from '../database/embedded_postgres.ts'
import { prepareLocalRun, runStep, say, StepFailed } from './local_run.ts'
import { reportError } from './report_error.ts'
import {
  SERVER_NODE_ARGS,
  claimBuild,
  currentServerScript,
  ensureBuild,
  serverEnv,
} from './server_process.ts'
import { onOrphaned, onStopSignal } from './signals.ts'

const appRoot = fileURLToPath(new URL('../', import.meta.url))

let database: EmbeddedDatabase | undefined
let server: ChildProcess | undefined

/**
 * Stops the server and then the database; returns the server's exit code
 * (0 after a clean shutdown). SIGTERM starts the server's own graceful
 * stop, which drains (SHUTDOWN_DRAIN_WINDOW, 10 s in production) and exits
 * by itself within SHUTDOWN_DEADLINE (30 s); the SIGKILL is only a safety
 * net for a server that hangs past that, so it waits longer.
 */
const SAFETY_NET_MS = 5 * 60_000

async function stopEverything() {
  let code = 1
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = new Promise<number | null>((done) => server!.once('exit', done))
    server.kill('SIGTERM')
    const timer = setTimeout(() => server!.kill('SIGKILL'), SAFETY_NET_MS)
    code = (await exited) ?? 1
    clearTimeout(timer)
  }
  await database?.stop()
  return code
}

onStopSignal(stopEverything)
onOrphaned(stopEverything)

try {
  const local = await prepareLocalRun(appRoot)
  database = local.database
  const env = local.env

  await runStep(appRoot, 'running migrations', ['ace.js', 'migrate'], env)
  await ensureBuild(appRoot, say)

  const script = currentServerScript(appRoot)
  server = spawn(process.execPath, [...SERVER_NODE_ARGS, script], {
    cwd: appRoot,
    env: serverEnv(appRoot, env),
    stdio: 'inherit',
  })
  const claim = claimBuild(script, server.pid!)
  server.on('exit', async (code, signal) => {
    claim.release()
    await database?.stop()
    process.exit(code ?? (signal ? 1 : 0))
  })
} catch (error) {
  if (!(error instanceof StepFailed)) reportError(error)
  await stopEverything()
  process.exit(1)
}
