import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { stripVTControlCharacters } from 'node:util'
import { test } from '@japa/runner'
import app from '@adonisjs/core/services/app'

const ROOT = fileURLToPath(app.appRoot)

/**
 * Boots the app in a child process with `overrides` on top of an otherwise
 * valid environment, and returns its exit code and output. config/setting.ts
 * reads the environment when it is imported, so a fresh process is the only
 * faithful test. `migration:status` loads every config file; the database
 * URL points at a closed port, so a boot that gets past the settings fails
 * on the connection instead.
 */
function boot(overrides: Record<string, string>) {
  const child = spawn(`${ROOT}node_modules/.bin/node`, ['ace.js', 'migration:status'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'development',
      APP_KEY: 'a-settings-test-key-of-more-than-32-chars',
      PORT: '3333',
      HOST: '127.0.0.1',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
      DB_ACQUIRE_TIMEOUT_MS: '500',
      DB_CONNECT_TIMEOUT_MS: '500',
      FORCE_COLOR: '0',
      ...overrides,
    },
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, output: stripVTControlCharacters(output) }))
  })
}

const cases = [
  { setting: 'sessions.limit', variable: 'SESSION_LIMIT', value: '0' },
  { setting: 'tokens.accessTtl', variable: 'ACCESS_TOKEN_TTL', value: 'banana' },
  { setting: 'password.minLength', variable: 'PASSWORD_MIN_LENGTH', value: '200' },
  { setting: 'trustedProxies', variable: 'TRUSTED_PROXIES', value: 'not-an-ip' },
  { setting: 'hashing.memoryKib', variable: 'ARGON2_MEMORY_KIB', value: '1024' },
  { setting: 'database.directUrl', variable: 'DIRECT_DATABASE_URL', value: 'http://db:5432/x' },
]

test.group('Settings | boot validation', () => {
  test('stops the boot naming {setting} when {variable} is {value}')
    .with(cases)
    .timeout(30_000)
    .run(async ({ assert }, { setting, variable, value }) => {
      const { code, output } = await boot({ [variable]: value })

      assert.notEqual(code, 0)
      assert.include(output, `Invalid setting "${setting}" (env ${variable})`)
      assert.notInclude(output, 'ECONNREFUSED', 'it must fail before connecting to the database')
    })

  test('stops the boot when DB_POOLER=transaction has no DIRECT_DATABASE_URL for migrations')
    .timeout(30_000)
    .run(async ({ assert }) => {
      const { code, output } = await boot({ DB_POOLER: 'transaction' })

      assert.notEqual(code, 0)
      assert.include(output, 'Invalid setting "database.directUrl" (env DIRECT_DATABASE_URL)')
      assert.include(output, 'session-scoped advisory lock')
      assert.notInclude(output, 'ECONNREFUSED', 'it must fail before connecting to the database')
    })
})
