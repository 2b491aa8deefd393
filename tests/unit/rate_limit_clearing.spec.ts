import { test } from '@japa/runner'
import { errors as limiterErrors } from '@adonisjs/limiter'
import limiter from '@adonisjs/limiter/services/main'
import {
  clearLimits,
  countMailRequest,
  countSigninAttempt,
  countTokenAttempt,
} from '#services/rate_limits'
import { resetRateLimits, uniqueEmail, withSettings } from '#tests/helpers/accounts'

type Store = 'database' | 'memory'

/**
 * Runs `work` with `store` as the limiter's default store and every limit
 * at 1000 but the ones `limits` sets to 2.
 */
async function withLimits(store: Store, limits: string[], work: () => Promise<void>) {
  const config = limiter.config as { default: string }
  const saved = config.default
  config.default = store
  try {
    await withSettings((settings) => {
      const rules = {
        'signin.perIp': settings.rateLimits.signin.perIp,
        'signin.perEmail': settings.rateLimits.signin.perEmail,
        'signin.perIpEmail': settings.rateLimits.signin.perIpEmail,
        'mail.perIp': settings.rateLimits.mail.perIp,
        'mail.perEmail': settings.rateLimits.mail.perEmail,
        'tokens.perIp': settings.rateLimits.tokens.perIp,
      }
      for (const [name, rule] of Object.entries(rules)) {
        rule.requests = limits.includes(name) ? 2 : 1000
      }
    }, work)
  } finally {
    config.default = saved
  }
}

async function isLimited(count: () => Promise<void>) {
  try {
    await count()
    return false
  } catch (error) {
    if (error instanceof limiterErrors.E_TOO_MANY_REQUESTS) return true
    throw error
  }
}

for (const store of ['database', 'memory'] as const) {
  test.group(`Rate limits | clearing (${store} store)`, (group) => {
    group.each.setup(() => resetRateLimits())

    test('clears an IPv6 client for its whole /64 and not for another', async ({ assert }) => {
      await withLimits(store, ['signin.perIp'], async () => {
        const email = uniqueEmail('clear-v6')
        await countSigninAttempt('2001:db8:7:1::1', email)
        await countSigninAttempt('2001:db8:7:1::2', email)
        assert.isTrue(await isLimited(() => countSigninAttempt('2001:db8:7:1::3', email)))

        await clearLimits({ emails: [], ips: ['2001:db8:7:2::1'] })
        assert.isTrue(await isLimited(() => countSigninAttempt('2001:db8:7:1::3', email)))

        await clearLimits({ emails: [], ips: ['2001:DB8:7:1:ffff::9'] })
        assert.isFalse(await isLimited(() => countSigninAttempt('2001:db8:7:1::3', email)))
      })
    })

    test('clears an IPv4-mapped address as its IPv4 form', async ({ assert }) => {
      await withLimits(store, ['mail.perIp', 'tokens.perIp'], async () => {
        for (const email of [uniqueEmail('a'), uniqueEmail('b')]) {
          await countMailRequest('203.0.113.9', email)
          await countTokenAttempt('203.0.113.9')
        }
        assert.isTrue(await isLimited(() => countMailRequest('203.0.113.9', uniqueEmail('c'))))
        assert.isTrue(await isLimited(() => countTokenAttempt('203.0.113.9')))

        await clearLimits({ emails: [], ips: ['::ffff:203.0.113.9'] })

        assert.isFalse(await isLimited(() => countMailRequest('203.0.113.9', uniqueEmail('d'))))
        assert.isFalse(await isLimited(() => countTokenAttempt('203.0.113.9')))
      })
    })

    test('clears an email’s sign-in and mail buckets, counted from any address', async ({
      assert,
    }) => {
      await withLimits(store, ['signin.perEmail', 'mail.perEmail'], async () => {
        const email = uniqueEmail('clear-email')
        for (const ip of ['198.51.100.1', '198.51.100.2']) {
          await countSigninAttempt(ip, email)
          await countMailRequest(ip, email)
        }
        assert.isTrue(await isLimited(() => countSigninAttempt('198.51.100.3', email)))
        assert.isTrue(await isLimited(() => countMailRequest('198.51.100.3', email)))

        await clearLimits({ emails: [uniqueEmail('someone-else')], ips: [] })
        assert.isTrue(await isLimited(() => countSigninAttempt('198.51.100.3', email)))

        await clearLimits({ emails: [email], ips: [] })
        assert.isFalse(await isLimited(() => countSigninAttempt('198.51.100.3', email)))
        assert.isFalse(await isLimited(() => countMailRequest('198.51.100.3', email)))
      })
    })

    test('clears an address-and-email sign-in bucket only when both are given', async ({
      assert,
    }) => {
      await withLimits(store, ['signin.perIpEmail'], async () => {
        const email = uniqueEmail('clear-pair')
        await countSigninAttempt('192.0.2.5', email)
        await countSigninAttempt('192.0.2.5', email)
        assert.isTrue(await isLimited(() => countSigninAttempt('192.0.2.5', email)))

        await clearLimits({ emails: [email], ips: [] })
        await clearLimits({ emails: [], ips: ['192.0.2.5'] })
        assert.isTrue(await isLimited(() => countSigninAttempt('192.0.2.5', email)))

        await clearLimits({ emails: [email], ips: ['192.0.2.5'] })
        assert.isFalse(await isLimited(() => countSigninAttempt('192.0.2.5', email)))
      })
    })
  })
}
