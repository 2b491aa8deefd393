/*
|--------------------------------------------------------------------------
| `npm start`
|--------------------------------------------------------------------------
|
| One command from a fresh checkout to a running service:
|   1. creates `.env` from `.env.example` with a fresh APP_KEY when missing;
|   2. with no DATABASE_URL, starts the embedded PostgreSQL (tmp/postgres);
|   3. runs pending migrations;
|   4. compiles the app into build/ when a source changed (node ace build);
|   5. starts the HTTP server (build/bin/server.js) and stops the database
|      when the server exits.
|
*/

import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  configuredDatabaseUrl,
  startEmbeddedPostgres,
  type EmbeddedDatabase,
} from '../database/embedded_postgres.ts'
import { SERVER_NODE_ARGS, SERVER_SCRIPT, ensureBuild, serverEnv } from './server_process.ts'

const appRoot = fileURLToPath(new URL('../', import.meta.url))
const envFile = resolve(appRoot, process.env.ENV_PATH ?? '', '.env')

function say(message: string) {
  process.stdout.write(`[tessera] ${message}\n`)
}

async function ensureEnvFile() {
  if (existsSync(envFile)) return
  const template = await readFile(resolve(appRoot, '.env.example'), 'utf8')
  const key = randomBytes(32).toString('base64url')
  await writeFile(envFile, template.replace(/^APP_KEY=.*$/m, `APP_KEY=${key}`), { mode: 0o600 })
  say(`created ${envFile} with a fresh APP_KEY`)
}

function run(args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<void>((done, fail) => {
    const child = spawn(process.execPath, args, { cwd: appRoot, env, stdio: 'inherit' })
    child.on('error', fail)
    child.on('exit', (code) =>
      code === 0 ? done() : fail(new Error(`"${args.join(' ')}" exited with ${code}`))
    )
  })
}

await ensureEnvFile()

const env: NodeJS.ProcessEnv = { ...process.env }
let database: EmbeddedDatabase | undefined

if (!(await configuredDatabaseUrl(appRoot))) {
  database = await startEmbeddedPostgres({
    directory: resolve(appRoot, process.env.EMBEDDED_PG_DIR ?? 'tmp/postgres'),
    database: 'tessera',
  })
  env.DATABASE_URL = database.url
  say(
    `no DATABASE_URL: embedded PostgreSQL on 127.0.0.1:${database.port} (data in ${database.directory})`
  )
}

try {
  await run(['ace.js', 'migration:run', '--force', '--no-schema-generate', '--compact-output'], env)
  await ensureBuild(appRoot, say)
} catch (error) {
  await database?.stop()
  throw error
}

const server = spawn(process.execPath, [...SERVER_NODE_ARGS, SERVER_SCRIPT], {
  cwd: appRoot,
  env: serverEnv(appRoot, env),
  stdio: 'inherit',
})

/**
 * embedded-postgres (through async-exit-hook) answers SIGINT/SIGTERM by
 * stopping PostgreSQL and exiting with 143 at once, racing the server's
 * graceful shutdown (which still needs the database to release its jobs).
 * Only ours stay: the server stops first, then PostgreSQL (below).
 */
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.removeAllListeners(signal)
  process.on(signal, () => server.kill('SIGTERM'))
}

server.on('exit', async (code, signal) => {
  await database?.stop()
  process.exit(code ?? (signal ? 1 : 0))
})
