import { spawn } from 'node:child_process'
import app from '@adonisjs/core/services/app'
import { test } from '@japa/runner'
import User from '#models/user'
import UserCreate from '#commands/user_create'
import UserRevokeSessions from '#commands/user_revoke_sessions'
import UserRoles from '#commands/user_roles'
import UserVerify from '#commands/user_verify'
import {
  PASSWORD,
  createUser,
  resetRateLimits,
  signIn,
  signedInUser,
  tokenRows,
  uniqueEmail,
} from '#tests/helpers/accounts'
import { assertError } from '#tests/helpers/assertions'
import { runCommand } from '#tests/helpers/commands'
import { issuedValue, statusWith } from '#tests/helpers/tokens'

const SIGNIN = '/api/v1/auth/signin'
const NEW_PASSWORD = 'a long enough passphrase'

/**
 * Runs `fn` as if stdin were a terminal, so commands prompt instead of
 * reading a pipe.
 */
async function onTerminal<T>(fn: () => Promise<T>) {
  const saved = Object.getOwnPropertyDescriptor(process.stdin, 'isTTY')
  Object.defineProperty(process.stdin, 'isTTY', { value: true, configurable: true })
  try {
    return await fn()
  } finally {
    if (saved) Object.defineProperty(process.stdin, 'isTTY', saved)
    else delete (process.stdin as { isTTY?: boolean }).isTTY
  }
}

/**
 * `node ace.js <args>` in a child process with `input` piped to its
 * stdin, against this run's database; resolves with its exit code.
 */
async function aceWithStdin(args: string[], input: string) {
  const env: Record<string, string> = { LOG_LEVEL: 'silent' }
  for (const name of [
    'PATH',
    'HOME',
    'NODE_ENV',
    'APP_KEY',
    'HOST',
    'PORT',
    'DATABASE_URL',
    'SMTP_HOST',
    'SMTP_PORT',
    'FRONTEND_URL',
  ]) {
    if (process.env[name] !== undefined) env[name] = process.env[name]!
  }
  const child = spawn(process.execPath, ['ace.js', ...args], {
    cwd: app.makePath(),
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  child.stdin.end(input)
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', resolve)
  })
  return { code, output }
}

test.group('Commands | users', (group) => {
  group.each.setup(() => resetRateLimits())

  test('user:create --verified confirms the address at the instant the account is created', async ({
    assert,
  }) => {
    const email = uniqueEmail('create-verified')

    const command = await onTerminal(() =>
      runCommand(UserCreate, [email, '--verified'], (created) => {
        created.prompt.trap('Password for the new user').replyWith(NEW_PASSWORD)
        created.prompt.trap('Repeat the password').replyWith(NEW_PASSWORD)
      })
    )

    command.assertSucceeded()
    const user = await User.findByOrFail('email', email)
    assert.isNotNull(user.emailVerifiedAt)
    assert.equal(user.emailVerifiedAt!.toMillis(), user.createdAt.toMillis())
  })

  test('user:create on a terminal asks twice and creates nothing when the answers differ', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('create-mismatch')

    const refused = await onTerminal(() =>
      runCommand(UserCreate, [email, '--verified'], (created) => {
        created.prompt.trap('Password for the new user').replyWith(NEW_PASSWORD)
        created.prompt.trap('Repeat the password').replyWith(`${NEW_PASSWORD}!`)
      })
    )

    refused.assertFailed()
    assert.include(refused.output(), 'differ')
    assert.notInclude(refused.output(), NEW_PASSWORD)
    assert.isNull(await User.findBy('email', email))

    const accepted = await onTerminal(() =>
      runCommand(UserCreate, [email, '--verified'], (created) => {
        created.prompt.trap('Password for the new user').replyWith(NEW_PASSWORD)
        created.prompt.trap('Repeat the password').replyWith(NEW_PASSWORD)
      })
    )
    accepted.assertSucceeded()
    await signIn(client, email, NEW_PASSWORD)
  })

  test('user:create with a piped password takes the first line only', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('create-piped')

    const { code, output } = await aceWithStdin(
      ['user:create', email, '--verified'],
      `${NEW_PASSWORD}\r\nsecond line\n`
    )

    assert.equal(code, 0, output)
    assert.notInclude(output, NEW_PASSWORD)
    await signIn(client, email, NEW_PASSWORD)
    const whole = await client
      .post(SIGNIN)
      .json({ email, password: `${NEW_PASSWORD}\r\nsecond line` })
    assertError(assert, whole, 400, 'E_INVALID_CREDENTIALS')
  })

  test('user:create refuses role names the API refuses, saying what a role name is', async ({
    assert,
  }) => {
    const email = uniqueEmail('create-role')

    const command = await onTerminal(() =>
      runCommand(UserCreate, [email, '--role=Admin!'], (created) => {
        created.prompt.trap('Password for the new user').replyWith(NEW_PASSWORD)
        created.prompt.trap('Repeat the password').replyWith(NEW_PASSWORD)
      })
    )

    command.assertFailed()
    assert.include(command.output(), 'role name starts with a lowercase letter')
    assert.isNull(await User.findBy('email', email))
  })

  test('user:roles shows the roles, and refuses an invalid email or role like the API', async ({
    assert,
  }) => {
    const user = await createUser({ roles: ['user', 'support'] })

    const shown = await runCommand(UserRoles, [user.email])
    shown.assertSucceeded()
    assert.include(shown.output(), 'user, support')

    const badRole = await runCommand(UserRoles, [user.email, '--role=has space'])
    badRole.assertFailed()
    assert.include(badRole.output(), 'role name')

    const badEmail = await runCommand(UserRoles, ['not-an-email', '--role=admin'])
    badEmail.assertFailed()
    assert.include(badEmail.output(), 'email')

    const unknown = await runCommand(UserRoles, [uniqueEmail('nobody'), '--role=admin'])
    unknown.assertFailed()
    assert.include(unknown.output(), 'No user has the email')

    const stored = await User.findOrFail(user.id)
    assert.deepEqual(stored.roles, ['user', 'support'])
  })

  test('user:verify confirms the address, lets the user sign in, and kills pending links', async ({
    client,
    assert,
  }) => {
    const user = await createUser({ verified: false })
    const link = await issuedValue(user, 'email_verification')
    const before = await client.post(SIGNIN).json({ email: user.email, password: PASSWORD })
    assertError(assert, before, 403, 'E_EMAIL_NOT_VERIFIED')

    const command = await runCommand(UserVerify, [`  ${user.email.toUpperCase()} `])

    command.assertSucceeded()
    const stored = await User.findOrFail(user.id)
    assert.isNotNull(stored.emailVerifiedAt)
    assert.lengthOf(await tokenRows(user.id, 'email_verification'), 0)
    await signIn(client, user.email)
    const stale = await client.post('/api/v1/auth/email/verify').json({ token: link })
    assertError(assert, stale, 400, 'E_INVALID_TOKEN')
  })

  test('user:verify refuses an invalid or unknown email and changes nothing', async ({
    assert,
  }) => {
    const user = await createUser({ verified: false })

    const invalid = await runCommand(UserVerify, ['@example.com'])
    invalid.assertFailed()
    const unknown = await runCommand(UserVerify, [uniqueEmail('nobody')])
    unknown.assertFailed()

    const stored = await User.findOrFail(user.id)
    assert.isNull(stored.emailVerifiedAt)
  })

  test('user:revoke-sessions signs the user out everywhere and no one else', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    const sessions = [await signIn(client, user.email), await signIn(client, user.email)]
    const bystander = await signedInUser(client)

    const command = await runCommand(UserRevokeSessions, [user.email])

    command.assertSucceeded()
    for (const session of sessions) assert.equal(await statusWith(client, session), 401)
    assert.lengthOf(await tokenRows(user.id, 'access'), 0)
    assert.equal(await statusWith(client, bystander.token), 200)
    assert.notInclude(command.output(), sessions[0])
  })
})
