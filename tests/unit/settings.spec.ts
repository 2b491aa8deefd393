import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
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
function boot(overrides: Record<string, string>, raw = false) {
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
    child.on('close', (code) =>
      resolve({ code, output: raw ? output : stripVTControlCharacters(output) })
    )
  })
}

const cases = [
  { setting: 'sessions.limit', variable: 'SESSION_LIMIT', value: '0' },
  { setting: 'sessions.limit', variable: 'SESSION_LIMIT', value: 'abc' },
  { setting: 'hashing.concurrency', variable: 'HASH_CONCURRENCY', value: '2.5' },
  { setting: 'tokens.resetTtl', variable: 'RESET_TOKEN_TTL', value: '1.5h' },
  { setting: 'tokens.verificationTtl', variable: 'VERIFICATION_TOKEN_TTL', value: '1 day' },
  { setting: 'tokens.accessTtl', variable: 'ACCESS_TOKEN_TTL', value: 'banana' },
  { setting: 'password.minLength', variable: 'PASSWORD_MIN_LENGTH', value: '200' },
  { setting: 'trustedProxies', variable: 'TRUSTED_PROXIES', value: 'not-an-ip' },
  { setting: 'hashing.memoryKib', variable: 'ARGON2_MEMORY_KIB', value: '1024' },
  { setting: 'database.directUrl', variable: 'DIRECT_DATABASE_URL', value: 'http://db:5432/x' },
  { setting: 'database.poolMax', variable: 'DB_POOL_MAX', value: '0' },
  { setting: 'database.acquireTimeoutMs', variable: 'DB_ACQUIRE_TIMEOUT_MS', value: '-5' },
  { setting: 'database.statementTimeoutMs', variable: 'DB_STATEMENT_TIMEOUT_MS', value: '0' },
  { setting: 'redis.url', variable: 'REDIS_URL', value: 'not a url' },
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

test.group('Settings | boot errors', () => {
  test('a bad setting stops the boot with one plain line naming the fix', async ({ assert }) => {
    const { code, output } = await boot({ SESSION_LIMIT: 'abc' }, true)

    assert.notEqual(code, 0)
    assert.equal(
      output,
      'tessera: Invalid setting "sessions.limit" (env SESSION_LIMIT): expected an integer from 1 to 1000' +
        ' — fix the value in .env or the environment\n'
    )
  }).timeout(30_000)

  test('a missing variable is named on one line, without colours or a stack', async ({
    assert,
    cleanup,
  }) => {
    const empty = await mkdtemp(join(app.makePath('tmp'), 'env-'))
    cleanup(() => rm(empty, { recursive: true, force: true }))
    const { code, output } = await boot({ APP_KEY: '', ENV_PATH: empty }, true)

    assert.notEqual(code, 0)
    assert.match(output, /^tessera: Missing environment variable "APP_KEY" — set it in \.env/)
    assert.equal(output.trim().split('\n').length, 1)
    assert.notInclude(output, '\u001B')
    assert.notInclude(output, 'created', 'no .env is made when the environment sets APP_KEY')
  }).timeout(30_000)

  test('durations take s, m, h, d and w', async ({ assert }) => {
    const { output } = await boot({ RESET_TOKEN_TTL: '1w', ACCESS_TOKEN_TTL: '2h' })

    assert.notInclude(output, 'Invalid setting')
    assert.include(output, 'ECONNREFUSED', 'the boot must get as far as the database')
  }).timeout(30_000)
})

test.group('Settings | README', () => {
  test("every variable of start/env.ts has a row in the README's configuration table", async ({
    assert,
  }) => {
    const schema = await readFile(join(ROOT, 'start', 'env.ts'), 'utf8')
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
    const variables = [...schema.matchAll(/^\s+([A-Z][A-Z0-9_]+): Env\.schema/gm)].map(
      ([, name]) => name
    )
    const table = readme.slice(
      readme.indexOf('| variable'),
      readme.indexOf('\n\n', readme.indexOf('| variable'))
    )
    const documented = new Set([...table.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map(([, name]) => name))

    assert.isAbove(variables.length, 40)
    assert.deepEqual(
      variables.filter((name) => !documented.has(name)),
      [],
      'variables missing from the table'
    )
  })
})
