import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import app from '@adonisjs/core/services/app'
import db from '@adonisjs/lucid/services/db'
import type { RecordedLine } from '#tests/helpers/secret_recorder'

/**
 * A database of its own on the server this run uses (embedded or
 * DATABASE_URL), so a child test run can migrate and roll back without
 * touching ours. Null when the role may not create databases.
 */
export async function scratchDatabase(prefix: string) {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`
  try {
    await db.rawQuery(`create database ${name}`)
  } catch {
    return null
  }
  const url = new URL(process.env.DATABASE_URL!)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    password: decodeURIComponent(url.password),
    async drop() {
      await db.rawQuery(`drop database if exists ${name} with (force)`)
    },
  }
}

/**
 * ANSI escapes out, so prompts and log lines can be matched as text.
 */
export function plain(text: string) {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001B\[[0-9;?]*[A-Za-z]/g, '')
}

export type FunctionalRun = {
  exitCode: number | null
  timedOut: boolean
  output: string
  outputFile: string
  recorded: RecordedLine[]
  /** Secrets of the run's own environment: APP_KEY, the database password. */
  environmentSecrets: string[]
  migrationPrompts: number
}

/**
 * Japa `--files` filters for the child run: every functional test, and
 * every security test but this R5 file itself (which would run forever).
 */
function childFileFilters() {
  const security = readdirSync(app.makePath('tests/security')).filter(
    (name) => name.endsWith('.spec.ts') && name !== 'logs.spec.ts'
  )
  return [
    '--files=functional/*/*',
    ...security.map((name) => `--files=security/${name.replace(/\.spec\.ts$/, '')}`),
  ]
}

/**
 * Runs `bin/test.ts functional security` (all but the R5 file) in a child process in production mode with
 * the logger at trace, the R5 recorder on, and every byte of stdout and
 * stderr kept in `<workDir>/output.log`.
 *
 * Lucid's migration commands ask for consent in production, and the test
 * utilities (`testUtils.db().migrate()` in tests/bootstrap.ts) pass no
 * `--force`: the child answers "y" to each of those prompts on its stdin —
 * one before the run (migrate) and one after it (roll back).
 */
export async function runFunctionalSuiteInProduction(workDir: string, timeoutMs: number) {
  const outputFile = join(workDir, 'output.log')
  const recordFile = join(workDir, 'recorded.jsonl')
  const database = await scratchDatabase('tessera_r5')
  const appKey = randomBytes(32).toString('base64url')

  const env: Record<string, string | undefined> = {
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'trace',
    APP_KEY: appKey,
    TESSERA_RECORD_SECRETS: recordFile,
    // bin/test.ts picks its own port and SMTP sink; without a database URL
    // it starts an embedded PostgreSQL of its own.
    PORT: undefined,
    SMTP_HOST: undefined,
    SMTP_PORT: undefined,
    DATABASE_URL: database?.url,
  }
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key]

  const child = spawn(
    process.execPath,
    ['--import=@poppinss/ts-exec', 'bin/test.ts', 'functional', 'security', ...childFileFilters()],
    { cwd: app.makePath(), env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'] }
  )
  const file = createWriteStream(outputFile)
  let output = ''
  let scanFrom = 0
  let prompts = 0
  const onChunk = (chunk: Buffer) => {
    file.write(chunk)
    output += chunk.toString('utf8')
    const tail = plain(output.slice(scanFrom))
    const asked = tail.match(/Want to continue running migrations\? \(y\/N\) ‣/g)?.length ?? 0
    for (let index = 0; index < asked; index++) {
      prompts++
      child.stdin.write('y\n')
    }
    scanFrom = asked > 0 ? output.length : Math.max(scanFrom, output.length - 1000)
  }
  child.stdout.on('data', onChunk)
  child.stderr.on('data', onChunk)

  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    child.kill('SIGTERM')
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref()
  }, timeoutMs)
  const exitCode = await new Promise<number | null>((resolve) =>
    child.on('close', (code) => resolve(code))
  )
  clearTimeout(timer)
  child.stdin.destroy()
  await new Promise((resolve) => file.end(resolve))
  await database?.drop()

  const lines = await readFile(recordFile, 'utf8').catch(() => '')
  const recorded = lines
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as RecordedLine)

  return {
    exitCode,
    timedOut,
    output,
    outputFile,
    recorded,
    environmentSecrets: [appKey, ...(database?.password ? [database.password] : [])],
    migrationPrompts: prompts,
  } satisfies FunctionalRun
}
