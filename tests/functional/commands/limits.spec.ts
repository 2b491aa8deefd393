import { test } from '@japa/runner'
import db from '@adonisjs/lucid/services/db'
import limiter from '@adonisjs/limiter/services/main'
import LimitsClear from '#commands/limits_clear'
import LimitsPrune from '#commands/limits_prune'
import { PASSWORD, createUser, resetRateLimits, uniqueEmail } from '#tests/helpers/accounts'
import { assertError } from '#tests/helpers/assertions'
import { runCommand } from '#tests/helpers/commands'

const FORGOT = '/api/v1/auth/password/forgot'
const SIGNIN = '/api/v1/auth/signin'

test.group('Commands | limits', (group) => {
  group.each.setup(() => resetRateLimits())

  test('limits:clear <email> lifts a used-up mail limit, for any spelling of the address', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('clear-mail')
    for (let attempt = 0; attempt < 3; attempt++) {
      const allowed = await client.post(FORGOT).json({ email })
      allowed.assertStatus(202)
    }
    assertError(assert, await client.post(FORGOT).json({ email }), 429, 'E_TOO_MANY_REQUESTS')

    const command = await runCommand(LimitsClear, [` ${email.toUpperCase()}`])

    command.assertSucceeded()
    assert.include(command.output(), email)
    const after = await client.post(FORGOT).json({ email })
    after.assertStatus(202)
  })

  test('limits:clear <email> <ip> lifts a sign-in block of that address and email', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    for (let attempt = 0; attempt < 5; attempt++) {
      const wrong = await client
        .post(SIGNIN)
        .json({ email: user.email, password: 'a wrong passphrase' })
      wrong.assertStatus(400)
    }
    const blocked = await client.post(SIGNIN).json({ email: user.email, password: PASSWORD })
    assertError(assert, blocked, 429, 'E_TOO_MANY_REQUESTS')

    const emailOnly = await runCommand(LimitsClear, [user.email])
    emailOnly.assertSucceeded()
    const stillBlocked = await client.post(SIGNIN).json({ email: user.email, password: PASSWORD })
    stillBlocked.assertStatus(429)

    const both = await runCommand(LimitsClear, ['127.0.0.1', user.email])
    both.assertSucceeded()
    const signedIn = await client.post(SIGNIN).json({ email: user.email, password: PASSWORD })
    signedIn.assertStatus(200)
  })

  test('limits:clear refuses a target that is neither an email nor an IP and clears nothing', async ({
    client,
    assert,
  }) => {
    const email = uniqueEmail('clear-refused')
    for (let attempt = 0; attempt < 3; attempt++) {
      await client.post(FORGOT).json({ email })
    }

    const command = await runCommand(LimitsClear, [email, '10.0.0.300'])

    command.assertFailed()
    assert.include(command.output(), '10.0.0.300')
    const still = await client.post(FORGOT).json({ email })
    still.assertStatus(429)
  })

  test('limits:clear says why it cannot reach the memory store and fails', async ({ assert }) => {
    const config = limiter.config as { default: string }
    const saved = config.default
    config.default = 'memory'
    try {
      const command = await runCommand(LimitsClear, ['127.0.0.1'])
      command.assertFailed()
      assert.include(command.output(), 'restart the server')
    } finally {
      config.default = saved
    }
  })

  test('limits:prune deletes expired counters in batches and keeps live ones', async ({
    assert,
  }) => {
    const now = Date.now()
    const expired = Array.from({ length: 5 }, (_, index) => ({
      key: `rlflx:prune-test:expired:${index}`,
      points: 3,
      expire: now - 1000 * (index + 1),
    }))
    const live = [{ key: 'rlflx:prune-test:live', points: 3, expire: now + 60_000 }]
    await db.table('rate_limits').multiInsert([...expired, ...live])

    const command = await runCommand(LimitsPrune, ['--batch-size=2'])

    command.assertSucceeded()
    assert.include(command.output(), 'Deleted 5 expired')
    const left = await db.from('rate_limits').whereLike('key', 'rlflx:prune-test:%').select('key')
    assert.deepEqual(
      left.map((row: { key: string }) => row.key),
      ['rlflx:prune-test:live']
    )
  })
})
