import { test } from '@japa/runner'
import {
  PASSWORD,
  countHashes,
  createUser,
  resetRateLimits,
  withSettings,
} from '#tests/helpers/accounts'

/**
 * SECURITY.md R1, the decision behind it (docs/security.md): sign-in is
 * throttled, never locked. A used-up bucket refuses even the right password
 * until its block ends, then opens again by itself — so a stranger who
 * spends an account's attempts delays its owner by one block, and no
 * administrator has to unlock anything.
 */

const API = '/api/v1'

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

test.group('Security | throttling, not lockout', (group) => {
  group.each.setup(() => resetRateLimits())

  test('R1: a used-up per-email bucket refuses the right password, then reopens once its block ends', async ({
    client,
    assert,
  }) => {
    const user = await createUser()
    await withSettings(
      (s) => {
        // Only the per-email bucket can trip: 3 attempts per 3 s, blocked 3 s.
        s.rateLimits.signin.perEmail = { requests: 3, window: 3, block: 3 }
        s.rateLimits.signin.perIp.requests = 1000
        s.rateLimits.signin.perIpEmail.requests = 1000
      },
      async () => {
        for (let attempt = 0; attempt < 3; attempt++) {
          const failure = await client
            .post(`${API}/auth/signin`)
            .json({ email: user.email, password: 'a stranger guessing' })
          failure.assertStatus(400)
        }
        const [hashes, blocked] = await countHashes(() =>
          client.post(`${API}/auth/signin`).json({ email: user.email, password: PASSWORD })
        )
        blocked.assertStatus(429)
        assert.equal(hashes, 0, 'a blocked attempt is not checked')
        const blockedAt = Date.now()
        const retryAfter = Number(blocked.header('retry-after'))
        assert.isAtLeast(retryAfter, 2)
        assert.isAtMost(retryAfter, 3, 'the wait is the configured block, not longer')

        // Knocking again during the block is refused, and does not extend it.
        await sleep(1000)
        const again = await client
          .post(`${API}/auth/signin`)
          .json({ email: user.email, password: 'a stranger guessing' })
        again.assertStatus(429)

        await sleep(Math.max(0, blockedAt + retryAfter * 1000 + 500 - Date.now()))
        const owner = await client
          .post(`${API}/auth/signin`)
          .json({ email: user.email, password: PASSWORD })
        owner.assertStatus(200)
      }
    )
  })
})
