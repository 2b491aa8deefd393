/*
|--------------------------------------------------------------------------
| What `npm start` and `npm run dev` share before their server
|--------------------------------------------------------------------------
*/

import { spawn } from 'node:child_process'
import { startDevelopmentDatabase, type EmbeddedDatabase } from '../database/embedded_postgres.ts'
import { ensureEnvFile } from './env_file.ts'

/** One `[tessera] …` line on stdout. */
export function say(message: string) {
  process.stdout.write(`[tessera] ${message}\n`)
}

/**
 * A step that failed in a child process, which already said why.
 */
export class StepFailed extends Error {}

/**
 * Runs `node <args>` in `appRoot` with `env`, its output on this terminal.
 *
 * @throws StepFailed (naming `label`) when the child exits non-zero; it
 *   reported its own error.
 */
export function runStep(appRoot: string, label: string, args: string[], env: NodeJS.ProcessEnv) {
  return new Promise<void>((done, fail) => {
    const child = spawn(process.execPath, args, { cwd: appRoot, env, stdio: 'inherit' })
    child.on('error', fail)
    child.on('exit', (code) =>
      code === 0 ? done() : fail(new StepFailed(`${label} failed (exit ${code})`))
    )
  })
}

/**
 * The set-up both run first: `.env` from `.env.example` on a fresh clone,
 * and the embedded PostgreSQL when no DATABASE_URL is configured. Returns
 * the environment for the children (DATABASE_URL pointing at that
 * database) and the database to stop at the end (undefined when one is
 * configured).
 *
 * @throws the error of reading the template or starting the database.
 */
export async function prepareLocalRun(
  appRoot: string
): Promise<{ env: NodeJS.ProcessEnv; database?: EmbeddedDatabase }> {
  const created = await ensureEnvFile(appRoot)
  if (created) say(`created ${created} with a fresh APP_KEY`)
  const env: NodeJS.ProcessEnv = { ...process.env }
  const database = await startDevelopmentDatabase(appRoot, say)
  if (database) env.DATABASE_URL = database.url
  return { env, database }
}
