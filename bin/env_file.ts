import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { resolve } from 'node:path'

/**
 * The `.env` the app reads: `<ENV_PATH>/.env`, relative to the project root.
 */
export function envFilePath(appRoot: string) {
  return resolve(appRoot, process.env.ENV_PATH ?? '', '.env')
}

/**
 * Creates `.env` from `.env.example` with a fresh APP_KEY when it is missing
 * and the process environment does not define APP_KEY itself (even empty:
 * whoever set it chose the environment over a file), so `npm start`, `npm
 * run dev` and ace commands all work on a fresh clone. Returns the path
 * when it created the file, null when it did not (the file exists, APP_KEY
 * is in the environment, or there is no `.env.example` to copy).
 */
export async function ensureEnvFile(appRoot: string) {
  const envFile = envFilePath(appRoot)
  if (existsSync(envFile) || process.env.APP_KEY !== undefined) return null
  const templatePath = resolve(appRoot, '.env.example')
  // an install without the template (a production image): the environment
  // is the configuration, and the app names any setting it lacks
  if (!existsSync(templatePath)) return null
  const template = await readFile(templatePath, 'utf8')
  const key = randomBytes(32).toString('base64url')
  await writeFile(envFile, template.replace(/^APP_KEY=.*$/m, `APP_KEY=${key}`), {
    mode: 0o600,
    flag: 'wx',
  }).catch((error) => {
    // another command created it first
    if (error.code !== 'EEXIST') throw error
  })
  return envFile
}
